"""Network (minidl/network.py): the container, data in, modes, astype, backward, misuse."""

from __future__ import annotations

import typing

import numpy as np
import pytest

import minidl
from minidl import (
    SGD,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    History,
    Identity,
    Layer,
    MaxPool2D,
    MeanSquaredError,
    Network,
    Parameter,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    keras,
)
from minidl.losses import Loss
from minidl.optimizers import Optimizer
from tests.messages import raises
from tests.numeric import numerical_gradient


def network(dtype: str = "float64") -> Network:
    return Network([Dense(3, 4, seed=0, dtype=dtype), ReLU(), Dense(4, 1, seed=1, dtype=dtype)])


# -- data into a network: predict / forward / trace ---------------------------------------
ENTRY_POINTS = {
    "predict": lambda net, x: net.predict(x),
    "forward": lambda net, x: net.forward(x),
    "trace": lambda net, x: net.trace(x),
}


ARGUMENT = {"predict": "predict x", "forward": "Network input x", "trace": "trace x"}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize(("bad", "error", "fragments"), [
    (np.ones((2, 4)), ValueError, ["Dense 'dense'", "expected 3 input features", "got 4"]),
    (np.ones((2, 3, 3)), ValueError, ["Dense 'dense'", "(batch, 3) or (3,)", "rank 3", "(2, 3, 3)"]),
    (np.float64(2.0), ValueError, ["Dense 'dense'", "(batch, 3) or (3,)", "rank 0"]),
    (np.ones((0, 3)), ValueError, ["{arg}", "is empty (shape (0, 3))", "expected at least one value"]),
    ([[1.0, np.nan, 2.0]], ValueError, ["{arg}", "must be finite", "got nan at index (0, 1)"]),
    ([[1.0, 2.0, np.inf]], ValueError, ["{arg}", "must be finite", "got inf at index (0, 2)"]),
    ([[1.0, 2.0, -np.inf]], ValueError, ["{arg}", "must be finite", "got -inf"]),
    ([["a", "b", "c"]], TypeError, ["{arg}", "must hold real numbers", "got dtype <U1"]),
    (np.ones((1, 3)) * 1j, TypeError, ["{arg}", "must hold real numbers", "got dtype complex128"]),
    (np.array([[1, 2, 3]], dtype=object), TypeError, ["{arg}", "real numbers", "got dtype object"]),
    (None, TypeError, ["{arg}", "real numbers", "got dtype object"]),
    ([[1.0, 2.0, 3.0], [4.0]], TypeError, ["{arg}", "rectangular array of numbers", "inhomogeneous"]),
])
def test_bad_data_into_a_network(entry: str, bad: object, error: type[Exception],
                                 fragments: list[str]) -> None:
    wanted = [fragment.replace("{arg}", ARGUMENT[entry]) for fragment in fragments]
    raises(error, lambda: ENTRY_POINTS[entry](network(), bad), *wanted)


@pytest.mark.parametrize("data", [
    np.array([[1, -1, 2], [1, 0, 3]]),                      # int64
    np.array([[1, -1, 2], [1, 0, 3]], dtype=np.int8),
    np.array([[1, 65535, 2], [1, 0, 3]], dtype=np.uint16),
    [[1, -1, 2], [1, 0, 3]],                                # nested lists
])
def test_integer_data_gives_the_float_answer(data: object) -> None:
    as_floats = [[float(value) for value in row] for row in np.asarray(data).tolist()]
    expected = network().predict(np.array(as_floats))
    result = network().predict(data)
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, expected)


def test_boolean_data_reads_as_zeros_and_ones() -> None:
    data = np.array([[True, False, True]])
    np.testing.assert_array_equal(network().predict(data), network().predict([[1.0, 0.0, 1.0]]))


GOOD = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])


def test_float32_data_on_a_float32_network_stays_float32_and_agrees_with_float64() -> None:
    result = network("float32").predict(GOOD.astype(np.float32))
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, network().predict(GOOD), rtol=1e-5, atol=1e-6)


def test_float32_data_on_a_float64_network_is_computed_in_float64() -> None:
    data = GOOD.astype(np.float32)
    result = network().predict(data)
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, network().predict(data.astype(np.float64)))


def test_one_sample_of_rank_one_gives_rank_one_back() -> None:
    result = network().predict(GOOD[0])
    assert result.shape == (1,)
    assert result[0] == network().predict(GOOD)[0, 0]


@pytest.mark.parametrize(("batch_size", "got"), [(0, "0"), (-2, "-2"), (1.5, "1.5"), (True, "True"),
                                                   ("8", "'8'")])
def test_predict_batch_size_must_be_a_positive_integer(batch_size: object, got: str) -> None:
    raises(ValueError, lambda: network().predict(GOOD, batch_size=batch_size),
           "predict batch_size", "positive integer", f"got {got}")


def test_predict_in_batches_gives_the_same_answer() -> None:
    data = np.random.default_rng(0).normal(size=(7, 3))
    # Equal up to the last bit or two: BLAS may sum a one-row batch (the last slice of 7 in 3s) in
    # another order than a full matrix product.
    batched, whole = network().predict(data, batch_size=3), network().predict(data)
    np.testing.assert_allclose(batched, whole, rtol=1e-14, atol=0)


def test_network_construction_misuse() -> None:
    raises(ValueError, lambda: Network([]), "Network", "at least one layer", "got an empty list")
    raises(TypeError, lambda: Network([Dense(2, 2), "relu"]), "Network layer 1", "minidl Layer", "got str")
    raises(TypeError, lambda: Network(Dense(2, 2)), "Network", "list of layers", "got Dense")
    relu = ReLU()
    raises(ValueError, lambda: Network([Dense(2, 2), relu, relu]), "layer 2", "'relu'", "appears twice")


def test_network_backward_before_forward() -> None:
    raises(RuntimeError, lambda: network().backward(np.ones((2, 1))), "backward() called before forward()")


F32 = np.dtype(np.float32)


def test_network_forward_casts_its_input_to_the_network_dtype() -> None:
    net = Network([Dense(3, 2, dtype=np.float32), ReLU()])
    assert net.forward(np.ones((2, 3))).dtype == F32  # float64 in
    assert net.forward([[1, 2, 3]]).dtype == F32  # a list of ints in
    assert net.predict(np.ones((2, 3))).dtype == F32


def test_network_astype_converts_every_parameter_and_keeps_their_identity() -> None:
    net = Network([Dense(3, 4, seed=0), BatchNorm(4), ReLU(), Dense(4, 1, seed=1)])
    before = net.parameters()
    weights64 = [p.value.copy() for p in before]
    assert net.astype(np.float32) is net
    assert net.dtype == F32
    assert net.parameters() == before and all(a is b for a, b in zip(net.parameters(), before, strict=True))
    for parameter, original in zip(net.parameters(), weights64, strict=True):
        assert parameter.value.dtype == F32 and parameter.grad.dtype == F32
        np.testing.assert_array_equal(parameter.value, original.astype(np.float32))
    batchnorm = net[1]
    assert isinstance(batchnorm, BatchNorm)
    assert batchnorm.running_mean.dtype == F32 and batchnorm.running_var.dtype == F32
    assert net.forward(np.ones((2, 3))).dtype == F32


def test_network_astype_back_to_float64_round_trips_float32_values_exactly() -> None:
    net = Network([Dense(3, 2, seed=0, dtype=np.float32)])
    original = net[0].parameters()[0].value.copy()
    net.astype(np.float64)
    assert net.dtype == np.float64
    np.testing.assert_array_equal(net[0].parameters()[0].value, original.astype(np.float64))


def test_network_astype_refuses_a_non_floating_dtype() -> None:
    net = Network([Dense(3, 2)])
    with pytest.raises(TypeError, match=r"Network\.astype.*floating.*int32"):
        net.astype(np.int32)
    assert net.dtype == np.float64


def test_network_astype_converts_a_compiled_optimizers_state_too() -> None:
    net = Network([Dense(3, 2, seed=0), ReLU(), Dense(2, 1, seed=1)])
    net.compile(loss="mse", optimizer=SGD(0.01, momentum=0.9))
    x = np.random.default_rng(1).standard_normal((8, 3))
    y = x.sum(axis=1)
    net.fit(x, y, epochs=2, batch_size=4, verbose=0, seed=0)
    before = net.optimizer.state_arrays(net.parameters())
    net.astype(np.float32)
    after = net.optimizer.state_arrays(net.parameters())
    assert sorted(before) == sorted(after)
    for key, array in after.items():
        if array.ndim:
            assert array.dtype == F32
            np.testing.assert_array_equal(array, before[key].astype(np.float32))
        else:
            assert array == before[key]  # step counts kept
    net.fit(x.astype(np.float32), y, epochs=1, batch_size=4, verbose=0, seed=0)
    assert all(p.value.dtype == F32 for p in net.parameters())


def test_forward_runs_layers_in_order():
    network = Network([Dense(1, 1, use_bias=False, weight_init=[[-2.0]]), ReLU()])
    np.testing.assert_array_equal(network.forward(np.array([[1.0], [-1.0]])), [[0.0], [2.0]])


def small_network(seed=0):
    layers = [Dense(3, 4, seed=seed, bias_init="he_normal"), Tanh(), Dense(4, 2, seed=seed + 1), Sigmoid()]
    return Network(layers)


def test_backward_matches_finite_differences_for_input_and_every_parameter():
    rng = np.random.default_rng(0)
    network, x, target = small_network(), rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    loss = MeanSquaredError()

    def objective():
        return MeanSquaredError().forward(network.forward(x), target)

    loss.forward(network.forward(x), target)
    grad_x = network.backward(loss.backward())
    analytic = [p.grad.copy() for p in network.parameters()]
    np.testing.assert_allclose(grad_x, numerical_gradient(objective, x), rtol=1e-6, atol=1e-9)
    for parameter, grad in zip(network.parameters(), analytic, strict=True):
        np.testing.assert_allclose(grad, numerical_gradient(objective, parameter.value), rtol=1e-6, atol=1e-9)


def test_parameters_in_layer_order_and_zero_grad():
    network = small_network()
    shapes = [p.shape for p in network.parameters()]
    assert shapes == [(3, 4), (4,), (4, 2), (2,)]
    network.forward(np.ones((2, 3)))
    network.backward(np.ones((2, 2)))
    assert any(p.grad.any() for p in network.parameters())
    network.zero_grad()
    assert not any(p.grad.any() for p in network.parameters())


def test_a_parameter_replaced_before_the_first_use_is_the_one_trained_and_saved(tmp_path):
    # A learner setting the course's weights may give a layer a new Parameter; the network lists its
    # parameters when it first runs, not when it is built
    network = minidl.Network([Dense(1, 1, seed=0)])
    network[0].weight = minidl.Parameter(np.array([[2.0]]), name="weight")
    network[0].bias = None
    network.compile(optimizer="sgd", loss="mse")
    network.fit([[1.0]], [[3.0]], epochs=1, batch_size=1, verbose=0)
    assert network.parameters() == [network[0].weight]
    assert network[0].weight.value[0, 0] == pytest.approx(2.0 + 0.01 * 2 * (3.0 - 2.0))  # SGD's 0.01
    network.save(tmp_path / "replaced.npz")
    loaded = minidl.load(tmp_path / "replaced.npz")
    np.testing.assert_array_equal(loaded[0].weight.value, network[0].weight.value)


def test_len_indexing_iteration():
    network = small_network()
    assert len(network) == 4
    assert isinstance(network[0], Dense) and isinstance(network[-1], Sigmoid)
    assert [type(layer) for layer in network] == [Dense, Tanh, Dense, Sigmoid]
    assert network[1:3] == network.layers[1:3]


def test_a_layer_name_that_is_not_a_string_is_refused_as_a_model_file_would_refuse_it():
    raises(TypeError, lambda: Network([Dense(2, 1), Dense(1, 1, name=0)]), "Network layer 1 (Dense)",
           "its name must be a string; got 0")


def test_layer_names_are_made_unique():
    network = Network([Dense(2, 2), ReLU(), Dense(2, 2), ReLU(), Dense(2, 1)])
    assert [layer.name for layer in network] == ["dense", "relu", "dense_1", "relu_1", "dense_2"]


def test_summary_lists_output_shapes_and_parameter_counts():
    text = Network([Dense(784, 256), ReLU(), Dense(256, 10), Softmax()]).summary()
    lines = text.splitlines()
    assert "Output Shape" in lines[1] and "Param #" in lines[1]
    assert any("dense (Dense)" in line and "(None, 256)" in line and "200,960" in line for line in lines)
    assert any("dense_1 (Dense)" in line and "(None, 10)" in line and "2,570" in line for line in lines)
    assert any("softmax (Softmax)" in line and "(None, 10)" in line for line in lines)
    assert lines[-1] == f"Total params: {784 * 256 + 256 + 256 * 10 + 10:,}"


def test_summary_of_a_dense_network_is_keras_table_unchanged():
    text = Network([Dense(3, 5), BatchNorm(5), Tanh(), Dense(5, 1), Sigmoid()]).summary()
    assert text == "\n".join([
        "----------------------------------------------",
        "Layer (type)           Output Shape  Param #",
        "==============================================",
        "dense (Dense)          (None, 5)          20",  # 3*5 + 5
        "batchnorm (BatchNorm)  (None, 5)          10",  # gamma and beta
        "tanh (Tanh)            (None, 5)           0",
        "dense_1 (Dense)        (None, 1)           6",  # 5*1 + 1
        "sigmoid (Sigmoid)      (None, 1)           0",
        "----------------------------------------------",
        "Total params: 36",
    ])


def lenet():
    return Network([Conv2D(1, 6, 5, padding=2), ReLU(), MaxPool2D(2), Conv2D(6, 16, 5), ReLU(), MaxPool2D(2),
                    Flatten(), Dense(400, 120), ReLU(), Dense(120, 84), ReLU(), Dense(84, 10), Softmax()])


# By hand: 5x5 filters padded by 2 keep 28x28; pooling halves; a valid 5x5 gives 14 - 5 + 1 = 10;
# 16 * 5 * 5 = 400 features. Parameters: 6*1*5*5 + 6, 16*6*5*5 + 16, 400*120 + 120, 120*84 + 84, 84*10 + 10.
LENET_TABLE = """\
------------------------------------------------------
Layer (type)             Output Shape        Param #
======================================================
conv2d (Conv2D)          (None, 6, 28, 28)       156
relu (ReLU)              (None, 6, 28, 28)         0
maxpool2d (MaxPool2D)    (None, 6, 14, 14)         0
conv2d_1 (Conv2D)        (None, 16, 10, 10)    2,416
relu_1 (ReLU)            (None, 16, 10, 10)        0
maxpool2d_1 (MaxPool2D)  (None, 16, 5, 5)          0
flatten (Flatten)        (None, 400)               0
dense (Dense)            (None, 120)          48,120
relu_2 (ReLU)            (None, 120)               0
dense_1 (Dense)          (None, 84)           10,164
relu_3 (ReLU)            (None, 84)                0
dense_2 (Dense)          (None, 10)              850
softmax (Softmax)        (None, 10)                0
------------------------------------------------------
Total params: 61,706"""


def test_summary_of_lenet_on_28x28_images_shows_every_output_shape():
    assert lenet().summary((1, 28, 28)) == LENET_TABLE
    assert 6 * 1 * 5 * 5 + 6 + 16 * 6 * 5 * 5 + 16 + 400 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10 == 61_706


def test_summary_before_a_forward_shows_unknown_sizes_and_after_it_the_seen_ones():
    network = lenet()
    rows = network.summary().splitlines()[3:-2]
    assert rows[0].split()[2:] == ["(None,", "6,", "?,", "?)", "156"]  # Conv2D declares only its channels
    assert rows[5].split()[2:] == ["(None,", "16,", "?,", "?)", "0"]
    assert rows[6].split()[2:] == ["(None,", "?)", "0"]  # flatten: the size depends on H and W
    assert rows[7].split()[2:] == ["(None,", "120)", "48,120"]  # Dense declares its output
    network.forward(np.zeros((3, 1, 28, 28)))  # the batch size is not shown
    assert network.summary() == LENET_TABLE
    # A given input_shape wins over the one seen: 32 -> 16 -> 12 -> 6, 16 * 6 * 6 = 576 features.
    raises(ValueError, lambda: network.summary((1, 32, 32)), "(None, 576)", "Dense 'dense'")


def test_summary_input_shape_that_does_not_fit_names_the_layer():
    raises(ValueError, lambda: lenet().summary((1, 20, 20)), "Network.summary", "(None, 144)",
           "Dense 'dense'", "expected 400 input features")  # 16 * 3 * 3 = 144
    raises(ValueError, lambda: lenet().summary((3, 28, 28)), "Conv2D 'conv2d'", "expected 1 input channels")
    raises(ValueError, lambda: Network([Dense(784, 10)]).summary((1, 28, 28)), "Dense 'dense'",
           "(batch, 784)", "rank 4")  # a forgotten Flatten
    raises(ValueError, lambda: lenet().summary((1, 4, 4)), "Conv2D 'conv2d_1'", "at least the window's 5 x 5")
    raises(ValueError, lambda: lenet().summary((None, 1, 28, 28)), "without the batch axis", "got None")
    raises(ValueError, lambda: Network([Dense(3, 1)]).summary(3.0), "without the batch axis", "got 3.0")


class Halve(Layer):
    """A user layer that says only its output_features (half the input's last axis)."""

    def forward(self, x):
        return x[..., ::2]

    def backward(self, grad_y):
        raise NotImplementedError

    def output_features(self, input_features):
        return None if input_features is None else (input_features + 1) // 2


class Silent(Layer):
    """A user layer that says nothing about its output."""

    def forward(self, x):
        return x.reshape(len(x), -1)[:, :3]

    def backward(self, grad_y):
        raise NotImplementedError


def test_summary_of_user_layers_uses_output_features_or_else_the_latest_forward():
    network = Network([Dense(2, 8), Halve(), Halve()])
    assert [row.split()[2] for row in network.summary().splitlines()[3:-2]] == ["(None,", "(None,", "(None,"]
    assert [row.split()[3] for row in network.summary().splitlines()[3:-2]] == ["8)", "4)", "2)"]
    images = Network([Conv2D(1, 16, 3, padding=1), Halve(), Silent(), ReLU()])
    rows = images.summary((1, 8, 8)).splitlines()[3:-2]
    assert rows[1].split()[2:] == ["(None,", "16,", "8,", "4)", "0"]  # only the last axis changes
    assert rows[2].split()[2:] == ["?", "0"] and rows[3].split()[2:] == ["?", "0"]  # unknown, not guessed
    images.forward(np.zeros((2, 1, 8, 8)))
    rows = images.summary().splitlines()[3:-2]
    assert rows[2].split()[2:] == ["(None,", "3)", "0"] and rows[3].split()[2:] == ["(None,", "3)", "0"]
    assert images.summary((1, 10, 10)).splitlines()[5].split()[2:] == ["?", "0"]  # not the input seen


def test_predict_equals_forward_and_accepts_batches():
    network = small_network()
    x = np.random.default_rng(1).normal(size=(10, 3))
    np.testing.assert_allclose(network.predict(x), network.forward(x))
    np.testing.assert_allclose(network.predict(x, batch_size=3), network.forward(x))


def test_single_sample_gives_rank_one_back():
    network = small_network()
    assert network.predict(np.ones(3)).shape == (2,)
    assert network.backward(np.ones(2)).shape == (3,)


WEIGHTS_0 = {"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1]}


def test_integer_input_is_converted_to_the_network_dtype():
    network = Network.from_node_weights(WEIGHTS_0)
    assert network.forward(np.array([0, 3])).dtype == np.float64
    network32 = Network.from_node_weights(WEIGHTS_0, dtype=np.float32)
    assert network32.forward([0, 3]).dtype == np.float32


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ([[np.nan, 1.0, 2.0]], ValueError, r"must be finite; got nan at index \(0, 0\)"),
        ([[1.0, np.inf, 2.0]], ValueError, "must be finite; got inf"),
        ([[1 + 1j, 0, 0]], TypeError, "real numbers"),
        (np.array([["a", "b", "c"]]), TypeError, "real numbers"),
        (np.empty((0, 3)), ValueError, "empty"),
        ([[1.0, 2.0], [3.0]], TypeError, "rectangular"),
        ([[1.0, 2.0]], ValueError, "expected 3 input features"),
    ],
)
def test_bad_input_gets_a_clear_error(bad, error, message):
    with pytest.raises(error, match=message):
        small_network().predict(bad)
    with pytest.raises(error, match=message):
        small_network().forward(bad)


def test_huge_but_finite_input_is_accepted():
    network = Network([Dense(2, 1, use_bias=False, weight_init=[[0.0], [0.0]])])
    np.testing.assert_array_equal(network.forward(np.array([[1e308, 1e308]])), [[0.0]])


def test_construction_errors():
    with pytest.raises(ValueError, match="at least one layer"):
        Network([])
    with pytest.raises(TypeError, match="layer 1 must be a minidl Layer; got str"):
        Network([Dense(2, 2), "relu"])
    # The class itself (a Keras and PyTorch habit) was named "ABCMeta"; a Keras layer "KerasLayer"
    raises(TypeError, lambda: Network([Dense(2, 2), ReLU]),
           "Network layer 1 must be a minidl Layer; got the class ReLU; create one with ReLU()")
    raises(TypeError, lambda: Network([keras.Dense(2, input_shape=(3,))]),
           "got KerasLayer (minidl.keras layers go into minidl.keras.Sequential)")
    with pytest.raises(TypeError, match="list of layers"):
        Network(Dense(2, 2))
    relu = ReLU()
    with pytest.raises(ValueError, match="appears twice"):
        Network([Dense(2, 2), relu, Dense(2, 2), relu])


def test_backward_before_forward_names_the_layer():
    with pytest.raises(RuntimeError, match="Sigmoid 'sigmoid': backward\\(\\) called before forward"):
        small_network().backward(np.ones((1, 2)))


def test_mode_starts_in_training_and_propagates():
    network = small_network()
    assert network.training
    network.eval()
    assert not network.training and not any(layer.training for layer in network)
    network.train()
    assert all(layer.training for layer in network)


def test_predict_runs_in_evaluation_mode_and_restores_the_mode():
    seen = []

    class Probe(Identity):
        def forward(self, x):
            seen.append(self.training)
            return super().forward(x)

    network = Network([Dense(2, 2), Probe()])
    network.predict(np.ones((1, 2)))
    assert seen == [False]
    assert network.training


def test_predict_never_hands_back_the_callers_array():
    x = np.ones((2, 3))
    output = Network([Identity()]).predict(x)
    assert output is not x
    output[0, 0] = 5.0
    assert x[0, 0] == 1.0


# -- who clears a gradient, and tied weights (issue 10, item 8) --------------------------------
class ScaleBy(Layer):
    """y = a * x per feature; ``adds`` chooses PyTorch's habit (grad +=) or assigning."""

    def __init__(self, adds):
        super().__init__()
        self.adds = adds
        self.a = Parameter(np.array([2.0, -1.0, 0.5]), name="a")

    def forward(self, x):
        self.x = x
        return x * self.a.value

    def backward(self, grad_y):
        g = (grad_y * self.x).sum(axis=0)
        if self.adds:
            self.a.grad += g
        else:
            self.a.grad[...] = g
        return grad_y * self.a.value


def test_a_layer_that_adds_to_grad_gets_the_same_gradients_as_one_that_assigns():
    rng = np.random.default_rng(0)
    x, upstream = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    grads = {}
    for adds in (False, True):
        net = Network([ScaleBy(adds), Dense(3, 3, seed=0)])
        for _ in range(3):  # three passes: an accumulating layer would hold 3x the gradient
            net.forward(x)
            grad_x = net.backward(upstream)
        grads[adds] = (net[0].a.grad.copy(), grad_x)
    np.testing.assert_array_equal(grads[True][0], grads[False][0])
    np.testing.assert_array_equal(grads[True][1], grads[False][1])
    assert np.abs(grads[True][0]).sum() > 0


def test_built_in_layers_are_not_cleared_first():
    net = Network([Dense(3, 2, seed=0)])
    net.forward(np.ones((2, 3)))
    before = net[0].weight.grad
    net.backward(np.ones((2, 2)))
    assert net[0].weight.grad is before  # written in place by backward, never re-allocated


def test_tied_weights_are_refused_naming_both_layers():
    first, second = Dense(3, 3, seed=0, name="encoder"), Dense(3, 3, seed=1, name="decoder")
    second.weight = first.weight
    expected = (r"Parameter 'weight' is shared \(tied weights\): layers 0 \('encoder'\) and 2 \('decoder'\) "
                r"both hold it.*give each layer its own Parameter")
    with pytest.raises(ValueError, match=expected):
        Network([first, ReLU(), second])


def test_a_parameter_held_twice_by_one_layer_is_refused():
    layer = ScaleBy(adds=False)
    layer.b = layer.a
    expected = r"Parameter 'a' is shared \(tied weights\): layer 1 \('scaleby'\) holds it twice"
    with pytest.raises(ValueError, match=expected):
        Network([Dense(3, 3, seed=0), layer])


def test_layers_of_mixed_dtypes_are_refused_naming_them():
    # a float64 layer in a float32 network made every later array float64, while net.dtype said float32
    f32 = np.float32
    layers = [Dense(3, 3, seed=0, dtype=f32), ScaleBy(adds=False), Dense(3, 1, seed=1, dtype=f32)]
    expected = (r"^Network: the layers' parameters mix dtypes \(float32 from layer 0 \(Dense\), float64 from "
                r"layer 1 \(ScaleBy\)\); give every layer the same dtype= \(or convert one in place: "
                r"layer.astype\(np.float32\)\)$")
    with pytest.raises(TypeError, match=expected):
        Network(layers)
    layers[1].astype(np.float32)  # as the message says
    assert Network(layers).predict(np.ones((2, 3))).dtype == np.float32


def test_backward_keeps_a_float32_network_in_float32_whatever_the_gradient_s_dtype():
    net = Network([Dense(3, 2, seed=0), ReLU(), Dense(2, 1, seed=1)]).astype(np.float32)
    net.forward(np.ones((4, 3)))
    assert net.backward(np.ones((4, 1))).dtype == np.float32  # a float64 dL/doutput
    assert net.backward(np.ones((4, 1), dtype=int)).dtype == np.float32


def test_backward_after_a_one_sample_forward_takes_and_gives_one_sample():
    net = Network([Dense(3, 2, seed=0), ReLU(), Dense(2, 1, seed=1)])
    y = net.forward(np.array([1.0, 2.0, 3.0]))
    assert y.shape == (1,)
    grad_x = net.backward(np.ones(1))
    assert grad_x.shape == (3,)
    batched = Network([Dense(3, 2, seed=0), ReLU(), Dense(2, 1, seed=1)])
    batched.forward(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(batched.backward(np.ones((1, 1)))[0], grad_x)


def test_a_flat_gradient_after_a_batch_forward_is_refused_with_its_own_shape():
    net = Network([Dense(3, 1, seed=0)])
    net.forward(np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"expected grad_y of shape \(5, 1\).*got \(5,\)"):
        net.backward(np.ones(5))


def test_a_new_network_and_its_layers_start_in_training_mode():
    net = Network([Dense(2, 2, seed=0), Dropout(0.5), BatchNorm(2)])
    assert net.training and all(layer.training for layer in net)


def test_train_and_eval_propagate_to_every_layer_and_return_the_network():
    net = Network([Dense(2, 2, seed=0), Dropout(0.5), BatchNorm(2)])
    assert net.eval() is net
    assert not net.training and not any(layer.training for layer in net)
    assert net.train() is net
    assert all(layer.training for layer in net)
    net.train(False)
    assert not any(layer.training for layer in net)


def test_network_is_in_training_mode_only_when_every_layer_is():
    net = Network([Dense(2, 2, seed=0), Dropout(0.5)])
    net[1].eval()
    assert not net.training


def test_forward_uses_the_current_mode():
    net = Network([Dropout(0.5, seed=0)])
    x = np.ones((4, 6))
    assert (net.forward(x) == 0).any()
    net.eval()
    np.testing.assert_array_equal(net.forward(x), x)


RNG = np.random.default_rng(5)


X = RNG.normal(size=(8, 2))


class ModeProbe(Layer):
    """The identity, recording (batch size, training?) at every forward."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[int, bool]] = []

    def forward(self, x):
        self.calls.append((x.shape[0] if x.ndim == 2 else 1, self.training))
        return x

    def backward(self, grad_y):
        return grad_y

    def output_features(self, input_features):
        return input_features


def probed_network():
    probe = ModeProbe()
    net = Network([Dense(2, 3, seed=0), probe, ReLU(), Dense(3, 1, seed=1)])
    net.compile(optimizer=SGD(learning_rate=0.01), loss="mse")
    return net, probe


@pytest.mark.parametrize("start_in_training", [True, False])
def test_predict_computes_in_evaluation_mode_and_restores_the_modes(start_in_training):
    net, probe = probed_network()
    net.train(start_in_training)
    net.predict(X)
    net.predict(X, batch_size=3)
    assert probe.calls and all(not training for _, training in probe.calls)
    assert net.training is start_in_training


def test_predict_restores_mixed_modes_even_after_an_error():
    net = Network([Dense(2, 2, seed=0), Dropout(0.5), BatchNorm(2)])
    net[1].eval()
    with pytest.raises(ValueError, match="features"):
        net.predict(np.ones((3, 5)))
    assert [layer.training for layer in net] == [True, False, True]


Y = X @ np.array([[1.0], [-2.0]]) + 0.5


@pytest.mark.parametrize("start_in_training", [True, False])
def test_fit_trains_in_training_mode_and_validates_in_evaluation_mode(start_in_training):
    net, probe = probed_network()
    net.train(start_in_training)
    x_val, y_val = X[:3], Y[:3]
    net.fit(X, Y, epochs=2, batch_size=4, validation_data=(x_val, y_val), verbose=0, seed=0)
    training_calls = [training for size, training in probe.calls if size == 4]
    validation_calls = [training for size, training in probe.calls if size == 3]
    assert len(training_calls) == 4 and all(training_calls)        # 2 epochs x 2 batches
    assert validation_calls == [False, False]                       # once per epoch
    assert net.training is start_in_training                        # restored afterwards


@pytest.mark.parametrize("start_in_training", [True, False])
def test_evaluate_computes_in_evaluation_mode_and_restores_the_modes(start_in_training):
    net, probe = probed_network()
    net.train(start_in_training)
    net.evaluate(X, Y)
    net.evaluate(X, Y, batch_size=3)
    assert probe.calls and all(not training for _, training in probe.calls)
    assert net.training is start_in_training


def test_train_step_and_loss_and_backward_use_the_current_mode():
    net, probe = probed_network()
    net.train_step(X, Y)
    net.eval()
    net.loss_and_backward(X, Y)
    assert [training for _, training in probe.calls] == [True, False]


def test_fit_updates_batchnorm_running_statistics_but_predict_and_evaluate_do_not():
    net = Network([Dense(2, 3, seed=0), BatchNorm(3), Dense(3, 1, seed=1)])
    net.compile(optimizer=SGD(learning_rate=0.01), loss="mse")
    bn = net[1]
    net.fit(X, Y, epochs=1, batch_size=4, verbose=0, seed=0)
    assert not np.array_equal(bn.running_mean, np.zeros(3))
    after_fit = bn.running_mean.copy(), bn.running_var.copy()
    net.predict(X)
    net.evaluate(X, Y)
    np.testing.assert_array_equal(bn.running_mean, after_fit[0])
    np.testing.assert_array_equal(bn.running_var, after_fit[1])


def test_dropout_is_active_in_fit_and_silent_in_predict():
    net = Network([Dense(2, 16, seed=0), Dropout(0.5, seed=1), Dense(16, 1, seed=2)])
    net.compile(optimizer=SGD(learning_rate=0.01), loss="mse")
    net.fit(X, Y, epochs=1, batch_size=8, verbose=0, seed=0)
    assert net[1].mask is not None and (net[1].mask == 0).any()  # the last training batch dropped
    first = net.predict(X)
    np.testing.assert_array_equal(net.predict(X), first)
    net.eval()
    np.testing.assert_array_equal(net.forward(X), first)


# -- the training properties: ordinary typed properties, None before compile
@pytest.mark.parametrize(("name", "annotation"), [
    ("loss", Loss | None), ("optimizer", Optimizer | None), ("history", History | None),
    ("stop_reason", str | None), ("metrics_names", list[str]),
])
def test_each_training_property_is_typed(name, annotation):
    getter = getattr(Network, name).fget
    assert typing.get_type_hints(getter)["return"] == annotation
    assert getter.__doc__


def test_the_properties_before_and_after_compile():
    net = Network([Dense(1, 1)])
    assert (net.loss, net.optimizer, net.history, net.stop_reason) == (None, None, None, None)
    assert net.metrics_names == ["loss"]
    optimizer = SGD(0.1)
    net.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    assert net.optimizer is optimizer
    assert isinstance(net.loss, MeanSquaredError)
    assert net.metrics_names == ["loss", "mae"]
    with pytest.raises(AttributeError):
        net.loss = MeanSquaredError()


def test_layers_given_as_separate_arguments_are_refused_with_the_list_form():
    raises(TypeError, lambda: Network(Dense(2, 4), ReLU()),
           "Network expects one list of layers, Network([layer, layer, ...]); got 2 separate arguments")


def test_minidl_save_is_network_save_and_pairs_with_load(tmp_path):
    network = Network([Dense(2, 3, seed=0), ReLU(), Dense(3, 1, seed=1)])
    path = tmp_path / "model.npz"
    minidl.save(network, path)
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_array_equal(minidl.load(path).predict(x), network.predict(x))
    raises(TypeError, lambda: minidl.save(path, network), "minidl.save expects a Network first")


def test_calling_a_network_runs_its_forward():
    network = Network([Dense(2, 1, weight_init=[[2.0], [-1.0]], bias_init=[0.5])])
    np.testing.assert_array_equal(network(np.array([[1.0, 3.0], [0.0, 0.0]])), [[2.0 - 3.0 + 0.5], [0.5]])
