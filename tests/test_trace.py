import numpy as np

from minidl import Dense, Network, ReLU, Softmax

WEIGHTS = {"node_0": [2, 4], "node_1": [4, -5], "output": [2, 7]}


def test_trace_gives_the_courses_node_values():
    trace = Network.from_node_weights(WEIGHTS).trace(np.array([3, 5]))
    # By hand: node_0 = 3*2 + 5*4 = 26; node_1 = 3*4 + 5*-5 = -13 -> relu 0; output = 2*26 + 7*0 = 52.
    assert trace["node_0_input"] == 26 and trace["node_0_output"] == 26
    assert trace["node_1_input"] == -13 and trace["node_1_output"] == 0
    assert trace["output_input"] == 52 and trace["output_output"] == 52
    np.testing.assert_array_equal(trace.model_output, [52.0])
    assert [node.name for node in trace.nodes] == ["node_0", "node_1", "output"]


def test_trace_prints_a_table():
    lines = str(Network.from_node_weights(WEIGHTS).trace([3, 5])).splitlines()
    assert lines[0].split() == ["node", "input", "output"]
    assert lines[2].split() == ["node_1", "-13", "0"]


def test_trace_of_a_batch_gives_arrays_per_node():
    trace = Network.from_node_weights(WEIGHTS).trace(np.array([[3, 5], [1, 0]]))
    np.testing.assert_array_equal(trace["node_0_input"], [26, 2])
    np.testing.assert_array_equal(trace["output_output"], [52, 2 * 2 + 7 * 4])


def test_trace_records_every_layer_and_names_multi_output_nodes():
    network = Network([Dense(2, 3, seed=0), ReLU(), Dense(3, 2, seed=1), Softmax()])
    trace = network.trace(np.ones(2))
    assert len(trace.layers) == 4
    assert [node.name for node in trace.nodes] == ["node_0", "node_1", "node_2", "output_0", "output_1"]
    np.testing.assert_allclose(trace.model_output.sum(), 1.0)


def test_missing_key_lists_available_names():
    trace = Network.from_node_weights(WEIGHTS).trace([3, 5])
    try:
        trace["node_9_input"]
    except KeyError as error:
        assert "node_0_input" in str(error)
    else:
        raise AssertionError("expected KeyError")
