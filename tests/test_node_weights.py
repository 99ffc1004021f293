import numpy as np
import pytest

from minidl import Dense, Identity, Network, ReLU, Softmax

WEIGHTS_0 = {"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1]}
DEEP = {"node_0_0": [2, 4], "node_0_1": [4, -5], "node_1_0": [-1, 2], "node_1_1": [1, 2], "output": [2, 7]}


def test_one_hidden_layer_structure():
    network = Network.from_node_weights(WEIGHTS_0)
    assert [type(layer) for layer in network] == [Dense, ReLU, Dense, ReLU]
    assert all(not layer.use_bias for layer in network if isinstance(layer, Dense))
    np.testing.assert_array_equal(network[0].weight.value, [[2, 1], [1, 2]])
    np.testing.assert_array_equal(network[2].weight.value, [[1], [1]])


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
        ({"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1, 1]}, "needs 2 weights"),
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
