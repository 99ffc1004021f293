"""The course's "need for optimization" exercises, cells [3] and [5], with minidl classes.

Run it with ``python examples/need_for_optimization.py``. It prints exactly what the
course prints: the errors 6 and 0, then the mean squared errors 37.500000 and 49.890625.
"""

import numpy as np

import minidl

# Cell [3]: one data point, two sets of weights.
input_data = np.array([0, 3])
weights_0 = {"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1]}
target_actual = 3
weights_1 = {"node_0": [2, 1], "node_1": [1, 0], "output": [1, 1]}

network_0 = minidl.Network.from_node_weights(weights_0, activation="relu")
network_1 = minidl.Network.from_node_weights(weights_1, activation="relu")

# One sample in, one value out: predict gives an array of shape (1,).
error_0 = network_0.predict(input_data)[0] - target_actual
error_1 = network_1.predict(input_data)[0] - target_actual
print(f"{error_0:g}")
print(f"{error_1:g}")

# Cell [4] and [5]: four data points, the mean squared error of each set of weights.
input_data = np.array([[0, 3], [1, 2], [-1, -2], [4, 0]])
weights_0 = {"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1]}
weights_1 = {"node_0": [2, 1], "node_1": [1.0, 1.5], "output": [1.0, 1.5]}
target_actuals = np.array([1, 3, 5, 7])

loss = minidl.MeanSquaredError()
model_output_0 = minidl.Network.from_node_weights(weights_0).predict(input_data)  # shape (4, 1)
model_output_1 = minidl.Network.from_node_weights(weights_1).predict(input_data)
# A 1-D target against a single-output prediction of shape (4, 1) is read as a column.
mse_0 = loss.forward(model_output_0, target_actuals)
mse_1 = loss.forward(model_output_1, target_actuals)

print("Mean squared error with weights_0: %f" % mse_0)
print("Mean squared error with weights_1: %f" % mse_1)
