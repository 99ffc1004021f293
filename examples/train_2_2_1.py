"""Train the course's 2-2-1 ReLU network by backpropagation, starting from weights_0.

Run it with ``python examples/train_2_2_1.py``. The network and data are the course's
(cell [4]): four points, targets ``[1, 3, 5, 7]``, no biases, ReLU after every layer.
``weights_0`` gives a mean squared error of 37.5 and ``weights_1`` 49.890625; training
``weights_0`` by full-batch gradient descent (``fit`` with ``batch_size=4,
shuffle=False``: one gradient step per epoch) brings the error far below both. It prints
the error every 10 epochs and the learned weights in the course's dict form.

(The third point, ``[-1, -2]``, makes both hidden nodes negative, so ReLU outputs 0 for
it whatever the weights nearby: its error of 5 stays, and the best reachable mean
squared error is a little above 25 / 4 = 6.25.)
"""

import numpy as np

import minidl

input_data = np.array([[0, 3], [1, 2], [-1, -2], [4, 0]])
target_actuals = np.array([1, 3, 5, 7])
weights_0 = {"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1]}

network = minidl.Network.from_node_weights(weights_0, activation="relu")
network.compile(optimizer=minidl.SGD(learning_rate=0.01), loss="mean_squared_error")

print("Mean squared error with weights_0: %f" % network.evaluate(input_data, target_actuals)["loss"])
print("(the course's weights_1 give 49.890625)")
for epochs_done in range(10, 51, 10):
    network.fit(input_data, target_actuals, epochs=10, batch_size=4, shuffle=False, verbose=0)
    mse = network.evaluate(input_data, target_actuals)["loss"]
    print(f"after {epochs_done:2d} epochs: mean squared error {mse:f}")

final = network.evaluate(input_data, target_actuals)["loss"]
print("Trained mean squared error: %f (below 37.5 and 49.890625: %s)" % (final, final < 37.5))
learned = {name: [round(float(w), 4) for w in values] for name, values in network.node_weights().items()}
print("Learned weights:", learned)
print("Predictions:", network.predict(input_data).ravel().round(3).tolist())
