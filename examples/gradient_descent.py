"""Gradient descent, the course's exercises, computed with minidl's classes.

Run it with ``python examples/gradient_descent.py``. One data point (input ``[1, 2, 3]``,
target 0) and a network with one linear node (``Dense(3, 1, use_bias=False)`` then
``Identity``) starting from the weights ``[0, 2, 1]``. It prints:

* the slope of the mean squared error with respect to each weight, ``[14, 28, 42]``
  (``2 * input * error``, filled into ``weight.grad`` by backpropagation);
* the error before and after one step at learning rate 0.01: ``7`` then ``5.04``;
* the mean squared error after each of 20 updates (it falls by a factor 0.5184 each time);

and saves that history as ``gradient_descent_mse.png`` when matplotlib is installed
(``pip install matplotlib``), or prints how to install it.
"""

import numpy as np

import minidl

input_data = np.array([1, 2, 3])
weights = np.array([0, 2, 1])
target = 0
learning_rate = 0.01


def make_network():
    """The course's single linear node, with the weights [0, 2, 1] as a (3, 1) column."""
    dense = minidl.Dense(3, 1, use_bias=False, weight_init=weights.reshape(3, 1))
    return minidl.Network([dense, minidl.Identity()])


network = make_network()
loss = minidl.MeanSquaredError()
optimizer = minidl.SGD(learning_rate=learning_rate)

# Forward: the prediction and its error.
preds = network.forward(input_data)  # one sample in, shape (1,) out
error = preds[0] - target

# Backward: the slope dMSE/dweights = 2 * input_data * error, in the Dense layer's weight.grad.
loss.forward(preds, [target])
network.backward(loss.backward())
slope = network[0].weight.grad[:, 0]
print("Slope (gradient of the MSE for each weight):", slope)

# One step downhill: weights <- weights - learning_rate * slope.
optimizer.step(network.parameters())
error_updated = network.forward(input_data)[0] - target
print(f"Error before the update: {error:g}")
print(f"Error after the update:  {error_updated:g}")

# Twenty updates from the start, the mean squared error after each.
network = make_network()
optimizer = minidl.SGD(learning_rate=learning_rate)
mse_history = []
for _ in range(20):
    network.loss_and_backward(input_data, [target], loss)  # fills weight.grad with the slope
    optimizer.step(network.parameters())
    mse_history.append(loss.forward(network.forward(input_data), [target]))

print("Mean squared error after each of 20 updates:")
for update, mse in enumerate(mse_history, start=1):
    print(f"  update {update:2d}: {mse:.6g}")
print("Final weights:", network[0].weight.value[:, 0])

try:
    from matplotlib.figure import Figure
except ImportError:
    print("Install matplotlib to also get the plot: pip install matplotlib")
else:
    figure = Figure(figsize=(5, 3.5))
    axes = figure.add_subplot()
    axes.plot(range(1, 21), mse_history, marker="o")
    axes.set_xlabel("update")
    axes.set_ylabel("mean squared error")
    axes.set_title("Gradient descent, learning rate 0.01")
    figure.tight_layout()
    figure.savefig("gradient_descent_mse.png")
    print("Saved the plot to gradient_descent_mse.png")
