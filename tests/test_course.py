"""The course bridge (minidl/course.py): node weights, trace, and the course's own numbers exactly."""

import numpy as np
import pytest

import minidl
from minidl import Dense, Identity, Network, ReLU, Sigmoid, Softmax
from minidl.metrics import mean_squared_error

WEIGHTS_0 = {"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1]}


def test_one_hidden_layer_structure():
    network = Network.from_node_weights(WEIGHTS_0)
    assert [type(layer) for layer in network] == [Dense, ReLU, Dense, ReLU]
    assert all(not layer.use_bias for layer in network if isinstance(layer, Dense))
    np.testing.assert_array_equal(network[0].weight.value, [[2, 1], [1, 2]])
    np.testing.assert_array_equal(network[2].weight.value, [[1], [1]])


DEEP = {"node_0_0": [2, 4], "node_0_1": [4, -5], "node_1_0": [-1, 2], "node_1_1": [1, 2], "output": [2, 7]}


def test_multi_layer_naming_and_values():
    network = Network.from_node_weights(DEEP)
    assert [type(layer) for layer in network] == [Dense, ReLU] * 3
    # By hand for input [3, 5]: layer 0 -> relu(26), relu(-13) = 26, 0;
    # layer 1 -> relu(-26), relu(26) = 0, 26; output -> 2*0 + 7*26 = 182.
    assert network.predict(np.array([3, 5]))[0] == 182


def test_activation_is_applied_to_the_output_too():
    weights = {"node_0": [1.0], "output": [-1.0]}
    assert Network.from_node_weights(weights, activation="relu").predict([2.0])[0] == 0.0
    assert Network.from_node_weights(weights, activation="identity").predict([2.0])[0] == -2.0
    assert isinstance(Network.from_node_weights(weights, activation="identity")[-1], Identity)


@pytest.mark.parametrize("weights", [WEIGHTS_0, DEEP])
def test_node_weights_round_trip(weights):
    back = Network.from_node_weights(weights).node_weights()
    assert list(back) == list(weights)
    for key, value in weights.items():
        np.testing.assert_array_equal(back[key], value)


def test_node_weights_are_copies():
    network = Network.from_node_weights(WEIGHTS_0)
    network.node_weights()["node_0"][0] = 100.0
    assert network[0].weight.value[0, 0] == 2.0


def test_node_weights_refuses_networks_it_cannot_describe():
    with pytest.raises(ValueError, match="bias"):
        Network([Dense(2, 1)]).node_weights()
    with pytest.raises(ValueError, match="2 outputs, not 1"):
        Network([Dense(2, 2, use_bias=False)]).node_weights()
    with pytest.raises(ValueError, match="neither Dense nor element-wise"):
        Network([Dense(2, 1, use_bias=False), Softmax()]).node_weights()


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"node_0": [2, 1], "node_1": [1, 2]}, "no 'output' key"),
        ({"node_0": [2, 1], "node_1": [1, 2, 3], "output": [1, 1]}, "different lengths"),
        ({"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1, 1]}, r"needs 2 weight\(s\)"),
        ({"node_0": [[2, 1], [1]], "output": [1]}, "flat list of numbers"),
        ({"node_0": [2, 1], "node_2": [1, 2], "output": [1, 1]}, "numbered 0, 1"),
        ({"node_0": [2, 1], "node_0_1": [1, 2], "output": [1, 1]}, "mix"),
        ({"node_0": [2, 1], "hidden": [1, 2], "output": [1, 1]}, "unexpected key 'hidden'"),
        ({"node_0": [], "output": [1]}, "non-empty"),
        ({"node_0": [np.nan, 1], "output": [1]}, "finite"),
        ({"node_0_0": [1, 1], "node_2_0": [1], "output": [1]}, "numbered 0, 1"),
    ],
)
def test_malformed_node_weight_dicts_are_errors(weights, message):
    with pytest.raises(ValueError, match=message):
        Network.from_node_weights(weights)


def test_unknown_activation_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown activation 'rellu'.*relu"):
        Network.from_node_weights(WEIGHTS_0, activation="rellu")


def test_not_a_dict_is_a_type_error():
    with pytest.raises(TypeError, match="must be a dict"):
        Network.from_node_weights([[2, 1], [1, 2]])


@pytest.mark.parametrize(
    "weights",
    [
        {"node_0": ["2", "1"], "output": [1]},
        {"node_0": [2, 1], "node_00": [1, 1], "output": [1, 1]},
        {"node_01": [2, 1], "output": [1]},
    ],
)
def test_string_weights_and_zero_padded_keys_are_refused(weights):
    with pytest.raises(ValueError, match=r"flat list of numbers|unexpected key"):
        Network.from_node_weights(weights)


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


def test_error_with_weights_0_is_6():
    network = minidl.Network.from_node_weights(WEIGHTS_0)
    assert network.predict(np.array([0, 3]))[0] - 3 == 6


WEIGHTS_1_CELL_3 = {"node_0": [2, 1], "node_1": [1, 0], "output": [1, 1]}


def test_error_with_weights_1_is_0():
    network = minidl.Network.from_node_weights(WEIGHTS_1_CELL_3)
    assert network.predict(np.array([0, 3]))[0] - 3 == 0


INPUT_DATA = np.array([[0, 3], [1, 2], [-1, -2], [4, 0]])


TARGETS = np.array([1, 3, 5, 7])


def test_mse_with_weights_0_is_37_5():
    predictions = minidl.Network.from_node_weights(WEIGHTS_0).predict(INPUT_DATA)
    assert minidl.MeanSquaredError().forward(predictions, TARGETS) == 37.5
    assert mean_squared_error(TARGETS, predictions) == 37.5


WEIGHTS_1_CELL_4 = {"node_0": [2, 1], "node_1": [1.0, 1.5], "output": [1.0, 1.5]}


def test_mse_with_weights_1_is_49_890625():
    predictions = minidl.Network.from_node_weights(WEIGHTS_1_CELL_4).predict(INPUT_DATA)
    assert minidl.MeanSquaredError().forward(predictions, TARGETS) == 49.890625
    assert mean_squared_error(TARGETS, predictions) == 49.890625


def predict_with_network(input_data_point, weights):
    """The course's cell [2], verbatim in spirit: an independent reference."""

    def relu(value):
        return max(0, value)

    node_0 = relu((input_data_point * np.asarray(weights["node_0"])).sum())
    node_1 = relu((input_data_point * np.asarray(weights["node_1"])).sum())
    return relu((np.array([node_0, node_1]) * np.asarray(weights["output"])).sum())


def test_predictions_match_the_courses_own_function():
    for weights in (WEIGHTS_0, WEIGHTS_1_CELL_3, WEIGHTS_1_CELL_4):
        network = minidl.Network.from_node_weights(weights)
        expected = [predict_with_network(row, weights) for row in INPUT_DATA]
        np.testing.assert_array_equal(network.predict(INPUT_DATA)[:, 0], expected)


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


def test_trace_output_column_is_the_network_output_after_softmax():
    # Softmax is not an element-wise Activation; the node outputs must still be what the
    # network outputs, not the weighted sums.
    net = Network([Dense(2, 2, weight_init=[[1.0, 0.0], [0.0, 1.0]], use_bias=False), Softmax()])
    trace = net.trace(np.array([0.0, np.log(3.0)]))
    assert trace["output_0_input"] == 0.0
    assert trace["output_0_output"] == pytest.approx(0.25)
    assert trace["output_1_output"] == pytest.approx(0.75)
    np.testing.assert_allclose([trace["output_0_output"], trace["output_1_output"]],
                               net.predict(np.array([0.0, np.log(3.0)])))


def test_trace_folds_every_shape_keeping_layer_up_to_the_next_dense():
    net = Network([Dense(1, 2, weight_init=[[1.0, -1.0]], use_bias=False), minidl.ReLU(),
                   minidl.Dropout(0.5), Dense(2, 1, weight_init=[[2.0], [3.0]], use_bias=False), Sigmoid()])
    trace = net.trace(np.array([2.0]))
    assert trace["node_0_output"] == 2.0 and trace["node_1_output"] == 0.0
    assert trace["output_input"] == 4.0
    assert trace["output_output"] == pytest.approx(1.0 / (1.0 + np.exp(-4.0)))


def test_trace_computes_what_predict_computes_and_changes_nothing():
    net = Network([Dense(2, 4, seed=0), minidl.BatchNorm(4), minidl.ReLU(), minidl.Dropout(0.5, seed=0),
                   Dense(4, 1, seed=1)])
    running = [array.copy() for array in net[1].state_arrays().values()]
    x = np.array([1.0, 2.0])
    first, second = net.trace(x), net.trace(x)  # a fresh network is in training mode
    assert first["output_output"] == second["output_output"] == net.predict(x)[0]
    for before, after in zip(running, net[1].state_arrays().values(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert all(layer.training for layer in net)


def test_a_trace_is_a_mapping_of_its_node_values_and_shows_them():
    trace = Network.from_node_weights(WEIGHTS).trace(np.array([3, 5]))
    # The values of test_trace_gives_the_courses_node_values, each node's input then its output.
    names = [f"{node}_{side}" for node in ("node_0", "node_1", "output") for side in ("input", "output")]
    assert list(trace) == names and len(trace) == 6
    assert dict(trace) == dict(zip(names, [26.0, 26.0, -13.0, 0.0, 52.0, 52.0], strict=True))
    assert repr(trace) == ("Trace(node_0_input=26.0, node_0_output=26.0, node_1_input=-13.0, "
                           "node_1_output=0.0, output_input=52.0, output_output=52.0)")
