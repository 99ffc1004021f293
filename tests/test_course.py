"""The course's own numbers, exactly: errors 6 and 0, MSE 37.5 and 49.890625."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl
from minidl.metrics import mean_squared_error

WEIGHTS_0 = {"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1]}
WEIGHTS_1_CELL_3 = {"node_0": [2, 1], "node_1": [1, 0], "output": [1, 1]}
WEIGHTS_1_CELL_4 = {"node_0": [2, 1], "node_1": [1.0, 1.5], "output": [1.0, 1.5]}
INPUT_DATA = np.array([[0, 3], [1, 2], [-1, -2], [4, 0]])
TARGETS = np.array([1, 3, 5, 7])


def predict_with_network(input_data_point, weights):
    """The course's cell [2], verbatim in spirit: an independent reference."""

    def relu(value):
        return max(0, value)

    node_0 = relu((input_data_point * np.asarray(weights["node_0"])).sum())
    node_1 = relu((input_data_point * np.asarray(weights["node_1"])).sum())
    return relu((np.array([node_0, node_1]) * np.asarray(weights["output"])).sum())


def test_error_with_weights_0_is_6():
    network = minidl.Network.from_node_weights(WEIGHTS_0)
    assert network.predict(np.array([0, 3]))[0] - 3 == 6


def test_error_with_weights_1_is_0():
    network = minidl.Network.from_node_weights(WEIGHTS_1_CELL_3)
    assert network.predict(np.array([0, 3]))[0] - 3 == 0


def test_mse_with_weights_0_is_37_5():
    predictions = minidl.Network.from_node_weights(WEIGHTS_0).predict(INPUT_DATA)
    assert minidl.MeanSquaredError().forward(predictions, TARGETS) == 37.5
    assert mean_squared_error(TARGETS, predictions) == 37.5


def test_mse_with_weights_1_is_49_890625():
    predictions = minidl.Network.from_node_weights(WEIGHTS_1_CELL_4).predict(INPUT_DATA)
    assert minidl.MeanSquaredError().forward(predictions, TARGETS) == 49.890625
    assert mean_squared_error(TARGETS, predictions) == 49.890625


def test_predictions_match_the_courses_own_function():
    for weights in (WEIGHTS_0, WEIGHTS_1_CELL_3, WEIGHTS_1_CELL_4):
        network = minidl.Network.from_node_weights(weights)
        expected = [predict_with_network(row, weights) for row in INPUT_DATA]
        np.testing.assert_array_equal(network.predict(INPUT_DATA)[:, 0], expected)



small_ints = st.integers(min_value=-5, max_value=5)
pairs = st.lists(small_ints, min_size=2, max_size=2)


@settings(max_examples=60, deadline=None)
@given(node_0=pairs, node_1=pairs, output=pairs, point=pairs)
def test_from_node_weights_agrees_with_the_courses_function_for_any_weights(node_0, node_1, output, point):
    weights = {"node_0": node_0, "node_1": node_1, "output": output}
    expected = predict_with_network(np.array(point), weights)
    assert minidl.Network.from_node_weights(weights).predict(np.array(point))[0] == expected


# -- the course bridge as its own module (minidl.course) ---------------------------------------
def test_the_course_module_builds_layers_that_network_wraps():
    from minidl import course

    layers = course.layers_from_node_weights(WEIGHTS_0)
    assert [type(layer).__name__ for layer in layers] == ["Dense", "ReLU", "Dense", "ReLU"]
    network = minidl.Network(layers)
    assert network.predict(np.array([0, 3]))[0] == 9.0
    assert {k: v.tolist() for k, v in course.node_weights(layers).items()} == WEIGHTS_0


def test_node_names_follow_the_course():
    from minidl.course import node_names

    assert node_names(0, 2, 2) == ["node_0", "node_1"]
    assert node_names(1, 3, 2) == ["node_1_0", "node_1_1"]
    assert node_names(2, 3, 1) == ["output"]
    assert node_names(1, 2, 3) == ["output_0", "output_1", "output_2"]


def test_trace_of_one_sample_keeps_the_layer_records_without_a_batch_axis():
    network = minidl.Network.from_node_weights(WEIGHTS_0)
    trace = network.trace(np.array([0, 3]))
    assert [(x.shape, y.shape) for _, x, y in trace.layers] == [((2,), (2,)), ((2,), (2,)),
                                                                 ((2,), (1,)), ((1,), (1,))]
    assert trace["output_output"] == 9.0
    assert minidl.NodeValues is minidl.course.NodeValues and minidl.Trace is minidl.course.Trace
