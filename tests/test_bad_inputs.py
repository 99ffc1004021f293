"""The bad-input battery: every public entry point, fed the usual mistakes.

Each case asserts the exception type and that the message names the argument, what was
expected and what was got; where a correct answer exists (integer, boolean and float32
data, ``(N,)`` targets for one output) it asserts that answer instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import minidl
from minidl import (
    SGD,
    Adam,
    Dense,
    LeakyReLU,
    MeanAbsoluteError,
    MeanSquaredError,
    Network,
    Parameter,
    ReLU,
    RMSprop,
    Sigmoid,
    Softmax,
    Tanh,
    metrics,
)


def raises(error: type[Exception], call: Callable[[], object], *fragments: str) -> str:
    """Assert ``call()`` raises ``error`` whose message holds every fragment; return it."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def network(dtype: str = "float64") -> Network:
    return Network([Dense(3, 4, seed=0, dtype=dtype), ReLU(), Dense(4, 1, seed=1, dtype=dtype)])


GOOD = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])


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
    np.testing.assert_array_equal(network().predict(data, batch_size=3), network().predict(data))


# -- building layers and networks ---------------------------------------------------------
@pytest.mark.parametrize(("value", "got"), [(0, "0"), (-3, "-3"), (2.5, "2.5"), (True, "True"),
                                            ("3", "'3'"), (None, "None")])
@pytest.mark.parametrize("argument", ["in_features", "out_features"])
def test_dense_sizes_must_be_positive_integers(argument: str, value: object, got: str) -> None:
    sizes = {"in_features": 3, "out_features": 2, argument: value}
    raises(ValueError, lambda: Dense(**sizes), f"Dense {argument}", "positive integer", f"got {got}")


def test_dense_numpy_integer_sizes_are_accepted() -> None:
    layer = Dense(np.int64(3), np.int32(2))
    assert (layer.in_features, layer.out_features) == (3, 2)
    assert type(layer.in_features) is int


@pytest.mark.parametrize(("dtype", "got"), [(int, "int64"), (complex, "complex128"), (bool, "bool"),
                                            (object, "object")])
def test_dense_dtype_must_be_floating(dtype: object, got: str) -> None:
    raises(TypeError, lambda: Dense(3, 2, dtype=dtype), "Dense 'dense'", "dtype must be a floating dtype",
           f"got {got}")


def test_dense_use_bias_must_be_a_boolean() -> None:
    raises(TypeError, lambda: Dense(3, 2, use_bias="no"), "Dense 'dense'", "use_bias must be True or False",
           "got 'no'")


@pytest.mark.parametrize(("kwargs", "fragments"), [
    ({"weight_init": "gloro"}, ["weight_init", "unknown initializer 'gloro'", "glorot_uniform"]),
    ({"weight_init": [[1.0, 2.0]]}, ["weight_init", "expected an array of shape (3, 2)", "got shape (1, 2)"]),
    ({"weight_init": [[np.nan, 1.0]] * 3}, ["weight_init", "must be finite"]),
    ({"bias_init": [1.0, 2.0, 3.0]}, ["bias_init", "expected an array of shape (2,)", "got shape (3,)"]),
])
def test_dense_initial_values_are_checked(kwargs: dict, fragments: list[str]) -> None:
    raises(ValueError, lambda: Dense(3, 2, **kwargs), "Dense 'dense'", *fragments)


def test_dense_seed_must_be_an_int_or_generator() -> None:
    raises(TypeError, lambda: Dense(3, 2, seed="7"), "seed", "int, a numpy.random.Generator or None",
           "got '7'")


@pytest.mark.parametrize(("alpha", "error", "fragments"), [
    (-0.1, ValueError, ["must be in [0.0, inf]", "got -0.1"]),
    (np.nan, ValueError, ["must be finite", "got nan"]),
    ("0.1", TypeError, ["must be a real number", "got '0.1'"]),
])
def test_leaky_relu_alpha_is_checked(alpha: object, error: type[Exception], fragments: list[str]) -> None:
    raises(error, lambda: LeakyReLU(alpha), "LeakyReLU alpha", *fragments)


def test_network_construction_misuse() -> None:
    raises(ValueError, lambda: Network([]), "Network", "at least one layer", "got an empty list")
    raises(TypeError, lambda: Network([Dense(2, 2), "relu"]), "Network layer 1", "minidl Layer", "got str")
    raises(TypeError, lambda: Network(Dense(2, 2)), "Network", "list of layers", "got Dense")
    relu = ReLU()
    raises(ValueError, lambda: Network([Dense(2, 2), relu, relu]), "layer 2", "'relu'", "appears twice")


# -- backward misuse ------------------------------------------------------------------------
@pytest.mark.parametrize("layer", [Dense(3, 2), ReLU(), Sigmoid(), Tanh(), LeakyReLU(), Softmax()],
                         ids=lambda layer: type(layer).__name__)
def test_backward_before_forward_names_the_layer(layer: minidl.Layer) -> None:
    raises(RuntimeError, lambda: layer.backward(np.ones((2, 2))), f"{type(layer).__name__} '{layer.name}'",
           "backward() called before forward()")


def test_network_backward_before_forward() -> None:
    raises(RuntimeError, lambda: network().backward(np.ones((2, 1))), "backward() called before forward()")


@pytest.mark.parametrize("layer", [Dense(3, 3), ReLU(), Sigmoid(), Softmax()],
                         ids=lambda layer: type(layer).__name__)
def test_backward_with_a_gradient_of_the_wrong_shape(layer: minidl.Layer) -> None:
    layer.forward(np.ones((4, 3)))
    raises(ValueError, lambda: layer.backward(np.ones((4, 2))), f"'{layer.name}'",
           "expected grad_y of shape (4, 3)", "got (4, 2)")


# -- losses and metrics ---------------------------------------------------------------------
PREDICTED = np.array([[9.0], [9.0], [0.0], [12.0]])  # the course: MSE 37.5 against TARGET
TARGET = np.array([1.0, 3.0, 5.0, 7.0])


@pytest.mark.parametrize("loss", [MeanSquaredError(), MeanAbsoluteError()], ids=lambda loss: loss.name)
def test_one_dimensional_target_for_one_output_is_read_as_a_column(loss: minidl.Loss) -> None:
    assert loss(PREDICTED, TARGET) == loss(PREDICTED, TARGET[:, None])
    assert loss.backward().shape == (4, 1)


def test_course_mean_squared_error_with_column_and_flat_targets() -> None:
    assert MeanSquaredError()(PREDICTED, TARGET) == 37.5
    assert metrics.mean_squared_error(TARGET, PREDICTED) == 37.5
    assert metrics.mean_squared_error(TARGET[:, None], PREDICTED[:, 0]) == 37.5


@pytest.mark.parametrize("loss", [MeanSquaredError(), MeanAbsoluteError()], ids=lambda loss: loss.name)
@pytest.mark.parametrize(("predicted", "actual", "got"), [
    (np.ones((4, 2)), np.ones(4), "actual has shape (4,)"),     # never broadcast to (4, 4) or (4, 2)
    (np.ones((4, 1)), np.ones(3), "actual has shape (3,)"),     # sample counts differ
    (np.ones((4, 2)), np.ones((2, 4)), "actual has shape (2, 4)"),
])
def test_loss_targets_of_the_wrong_shape(loss: minidl.Loss, predicted: np.ndarray, actual: np.ndarray,
                                         got: str) -> None:
    raises(ValueError, lambda: loss(predicted, actual), type(loss).__name__,
           f"predicted has shape {predicted.shape}", got, "must match")


@pytest.mark.parametrize("loss", [MeanSquaredError(), MeanAbsoluteError()], ids=lambda loss: loss.name)
def test_loss_target_of_strings(loss: minidl.Loss) -> None:
    raises(TypeError, lambda: loss(np.ones((2, 1)), ["a", "b"]), type(loss).__name__, "actual",
           "real numbers", "got dtype <U1")


@pytest.mark.parametrize("loss", [MeanSquaredError(), MeanAbsoluteError()], ids=lambda loss: loss.name)
def test_loss_backward_before_forward(loss: minidl.Loss) -> None:
    raises(RuntimeError, loss.backward, type(loss).__name__, "backward() called before forward()")


@pytest.mark.parametrize("metric", [metrics.mean_squared_error, metrics.mean_absolute_error],
                         ids=lambda metric: metric.__name__)
@pytest.mark.parametrize(("y_true", "y_pred", "error", "fragments"), [
    ([1.0, np.nan], [1.0, 2.0], ValueError, ["y_true", "must be finite", "got nan at index (1,)"]),
    ([1.0, 2.0], [np.inf, 2.0], ValueError, ["y_pred", "must be finite", "got inf at index (0,)"]),
    ([], [], ValueError, ["y_pred", "is empty", "expected at least one value"]),
    ([1.0, 2.0, 3.0], [1.0, 2.0], ValueError, ["predicted has shape (2,)", "actual has shape (3,)"]),
    ([1.0, 2.0], [1j, 2.0], TypeError, ["y_pred", "real numbers", "got dtype complex128"]),
])
def test_metrics_refuse_bad_data(metric: Callable, y_true: object, y_pred: object,
                                 error: type[Exception], fragments: list[str]) -> None:
    raises(error, lambda: metric(y_true, y_pred), metric.__name__, *fragments)


def test_metrics_accept_integers_with_the_float_answer() -> None:
    assert metrics.mean_absolute_error([1, 3], [2, 1]) == 1.5
    assert metrics.mean_squared_error(np.array([1, 3], dtype=np.int8), [2.0, 1.0]) == 2.5


# -- optimizers -----------------------------------------------------------------------------
@pytest.mark.parametrize(("make", "argument", "error", "fragments"), [
    (lambda: SGD(learning_rate=-0.1), "SGD learning_rate", ValueError, ["[0.0, inf]", "got -0.1"]),
    (lambda: SGD(learning_rate=np.nan), "SGD learning_rate", ValueError, ["finite", "got nan"]),
    (lambda: SGD(learning_rate=np.inf), "SGD learning_rate", ValueError, ["finite", "got inf"]),
    (lambda: SGD(learning_rate="0.1"), "SGD learning_rate", TypeError, ["real number", "got '0.1'"]),
    (lambda: SGD(momentum=1.0), "SGD momentum", ValueError, ["[0.0, 1.0)", "got 1.0"]),
    (lambda: SGD(momentum=0.9, nesterov="yes"), "SGD nesterov", TypeError, ["True or False", "got 'yes'"]),
    (lambda: Adam(learning_rate=-1), "Adam learning_rate", ValueError, ["[0.0, inf]", "got -1.0"]),
    (lambda: Adam(beta_1=1.0), "Adam beta_1", ValueError, ["[0.0, 1.0)", "got 1.0"]),
    (lambda: Adam(beta_2=-0.5), "Adam beta_2", ValueError, ["[0.0, 1.0)", "got -0.5"]),
    (lambda: Adam(epsilon=0.0), "Adam epsilon", ValueError, ["(0.0, inf]", "got 0.0"]),
    (lambda: RMSprop(rho=1.5), "RMSprop rho", ValueError, ["[0.0, 1.0)", "got 1.5"]),
    (lambda: RMSprop(epsilon=-1e-7), "RMSprop epsilon", ValueError, ["(0.0, inf]", "got -1e-07"]),
])
def test_optimizer_hyper_parameters_are_checked(make: Callable, argument: str, error: type[Exception],
                                                fragments: list[str]) -> None:
    raises(error, make, argument, *fragments)


def test_learning_rate_set_later_is_checked_too() -> None:
    optimizer = SGD(learning_rate=0.1)
    raises(ValueError, lambda: setattr(optimizer, "learning_rate", -1.0), "SGD learning_rate", "got -1.0")
    assert optimizer.learning_rate == 0.1


@pytest.mark.parametrize("optimizer", [SGD(), SGD(momentum=0.9), Adam(), RMSprop()],
                         ids=lambda optimizer: repr(optimizer))
def test_optimizer_step_on_arrays_instead_of_parameters(optimizer: minidl.Optimizer) -> None:
    raises(TypeError, lambda: optimizer.step([np.ones(3)]), type(optimizer).__name__,
           "list of minidl Parameters", "got an element of type ndarray")
    raises(TypeError, lambda: optimizer.step([1.5]), "got an element of type float")


def test_optimizer_step_accepts_float32_parameters_and_keeps_them_float32() -> None:
    parameter = Parameter(np.array([1.0, 2.0], dtype=np.float32))
    parameter.grad[...] = [0.5, -0.5]
    for optimizer in (SGD(0.1), SGD(0.1, momentum=0.9), Adam(0.1), RMSprop(0.1)):
        optimizer.step([parameter])
        assert parameter.value.dtype == np.float32
    assert np.all(np.isfinite(parameter.value))
