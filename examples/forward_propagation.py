"""Forward propagation, node by node, as the course computes it by hand.

Run it with ``python examples/forward_propagation.py``. For one sample, it prints each
node's input (the weighted sum) and output (after ReLU), computed by ``Network.trace``,
first for the course's 2-2-1 network, then for a deeper 2-2-2-1 network.
"""

import numpy as np

import minidl

input_data = np.array([3, 5])

weights = {"node_0": [2, 4], "node_1": [4, -5], "output": [2, 7]}
network = minidl.Network.from_node_weights(weights, activation="relu")
trace = network.trace(input_data)

print("A 2-2-1 network, input", input_data.tolist())
for node in trace.nodes:
    print(f"  {node.name}_input = {node.input:g}   {node.name}_output = {node.output:g}")
print("model_output =", f"{trace.model_output[0]:g}")
print()

deeper = {
    "node_0_0": [2, 4],
    "node_0_1": [4, -5],
    "node_1_0": [-1, 2],
    "node_1_1": [1, 2],
    "output": [2, 7],
}
deep_network = minidl.Network.from_node_weights(deeper, activation="relu")
print("A 2-2-2-1 network, input", input_data.tolist())
print(deep_network.trace(input_data))
