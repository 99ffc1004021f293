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
    # Equal up to the last bit or two: BLAS may sum a one-row batch (the last slice of 7 in 3s) in
    # another order than a full matrix product.
    batched, whole = network().predict(data, batch_size=3), network().predict(data)
    np.testing.assert_allclose(batched, whole, rtol=1e-14, atol=0)


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


# -- compile, fit, evaluate, train_step -------------------------------------------------------
X_TRAIN = np.random.default_rng(1).normal(size=(20, 3))
Y_TRAIN = X_TRAIN @ np.array([1.0, -2.0, 0.5])


def compiled_network(dtype: str = "float64", learning_rate: float = 0.05) -> Network:
    net = network(dtype)
    net.compile(optimizer=SGD(learning_rate), loss="mse", metrics=["mae"])
    return net


@pytest.mark.parametrize("method", ["fit", "evaluate", "train_step"])
def test_training_before_compile_says_to_compile(method: str) -> None:
    call = {"fit": lambda net: net.fit(X_TRAIN, Y_TRAIN, verbose=0),
            "evaluate": lambda net: net.evaluate(X_TRAIN, Y_TRAIN),
            "train_step": lambda net: net.train_step(X_TRAIN, Y_TRAIN)}[method]
    raises(RuntimeError, lambda: call(network()), f"{method}() needs a compiled network",
           "network.compile(optimizer=..., loss=...)")


@pytest.mark.parametrize(("kwargs", "error", "fragments"), [
    ({"optimizer": "adamw", "loss": "mse"}, ValueError,
     ["unknown optimizer 'adamw'", "'sgd', 'rmsprop', 'adam'"]),
    ({"optimizer": 3, "loss": "mse"}, TypeError,
     ["optimizer must be a name or an Optimizer object", "got int"]),
    ({"optimizer": "sgd", "loss": "mse2"}, ValueError, ["unknown loss 'mse2'", "'mean_squared_error'"]),
    ({"optimizer": "sgd", "loss": 3}, TypeError, ["loss must be a name or a Loss object", "got int"]),
    ({"optimizer": "sgd"}, ValueError, ["compile needs a loss", "loss='mse'"]),
    ({"optimizer": "sgd", "loss": "mse", "metrics": ["acc2"]}, ValueError,
     ["unknown metric 'acc2'", "'accuracy'"]),
    ({"optimizer": "sgd", "loss": "mse", "metrics": "mae"}, TypeError,
     ["compile metrics must be a list of names or functions", "got 'mae'"]),
    ({"optimizer": "sgd", "loss": "mse", "metrics": ["mae", "mae"]}, ValueError,
     ["names must be unique", "got ['mae', 'mae']"]),
])
def test_compile_refuses_unknown_names_and_types(kwargs: dict, error: type[Exception],
                                                 fragments: list[str]) -> None:
    raises(error, lambda: network().compile(**kwargs), *fragments)


@pytest.mark.parametrize(("kwargs", "error", "fragments"), [
    ({"epochs": 0}, ValueError, ["fit epochs", "positive integer", "got 0"]),
    ({"epochs": 2.5}, ValueError, ["fit epochs", "positive integer", "got 2.5"]),
    ({"epochs": "10"}, ValueError, ["fit epochs", "positive integer", "got '10'"]),
    ({"batch_size": 0}, ValueError, ["fit batch_size", "positive integer", "got 0"]),
    ({"batch_size": -32}, ValueError, ["fit batch_size", "positive integer", "got -32"]),
    ({"validation_split": 1.0}, ValueError, ["fit validation_split", "[0.0, 1.0)", "got 1.0"]),
    ({"validation_split": -0.1}, ValueError, ["fit validation_split", "[0.0, 1.0)", "got -0.1"]),
    ({"validation_split": np.nan}, ValueError, ["fit validation_split", "finite", "got nan"]),
    ({"validation_split": 0.99}, ValueError, ["validation_split=0.99 of 20 samples", "0 for training"]),
    ({"verbose": 3}, ValueError, ["fit verbose", "0 (silent), 1", "got 3"]),
    ({"shuffle": "yes"}, TypeError, ["fit shuffle", "True or False", "got 'yes'"]),
    ({"seed": "x"}, TypeError, ["seed", "int, a numpy.random.Generator or None", "got 'x'"]),
    ({"callbacks": [3]}, TypeError, ["fit callbacks", "minidl Callback objects", "got int"]),
    ({"validation_data": (X_TRAIN,)}, TypeError, ["fit validation_data", "pair (x_val, y_val)",
                                                   "got a tuple of 1"]),
    ({"validation_data": (X_TRAIN, Y_TRAIN), "validation_split": 0.2}, ValueError,
     ["validation_split or validation_data, not both"]),
    ({"validation_data": (X_TRAIN[:, :2], Y_TRAIN)}, ValueError,
     ["Dense 'dense'", "expected 3 input features", "got 2"]),
])
def test_fit_hyper_parameters_are_checked(kwargs: dict, error: type[Exception], fragments: list[str]) -> None:
    net = compiled_network()
    before = [p.value.copy() for p in net.parameters()]
    raises(error, lambda: net.fit(X_TRAIN, Y_TRAIN, **{"verbose": 0, **kwargs}), *fragments)
    for value, old in zip([p.value for p in net.parameters()], before, strict=True):
        np.testing.assert_array_equal(value, old)  # nothing trained before the error


def _with(array: np.ndarray, index: tuple, value: float) -> np.ndarray:
    changed = array.astype(np.float64).copy()
    changed[index] = value
    return changed


@pytest.mark.parametrize(("x", "y", "error", "fragments"), [
    (X_TRAIN, Y_TRAIN[:10], ValueError, ["fit: x has 20 samples (shape (20, 3))", "y has 10 samples"]),
    (X_TRAIN, np.ones((20, 2)), ValueError, ["fit y", "predicted has shape (20, 1)",
     "actual has shape (20, 2)"]),
    (X_TRAIN, np.float64(1.0), ValueError, ["fit: x has 20 samples", "y has a scalar"]),
    (X_TRAIN, _with(Y_TRAIN, (3,), np.nan), ValueError, ["fit y must be finite", "got nan at index (3,)"]),
    (_with(X_TRAIN, (4, 1), np.inf), Y_TRAIN, ValueError, ["fit x must be finite",
     "got inf at index (4, 1)"]),
    (np.ones((0, 3)), np.ones(0), ValueError, ["fit x is empty", "shape (0, 3)", "at least one value"]),
    (np.ones(3), np.ones(3), ValueError, ["fit x must have a batch axis", "(samples, features)",
                                          "got shape (3,)"]),
    ([["a", "b", "c"]] * 2, [1.0, 2.0], TypeError, ["fit x", "real numbers", "got dtype <U1"]),
    (X_TRAIN, ["a"] * 20, TypeError, ["fit y", "real numbers", "got dtype <U1"]),
    (X_TRAIN * 1j, Y_TRAIN, TypeError, ["fit x", "real numbers", "got dtype complex128"]),
    (X_TRAIN.astype(object), Y_TRAIN, TypeError, ["fit x", "real numbers", "got dtype object"]),
    (X_TRAIN[:, :2], Y_TRAIN, ValueError, ["Dense 'dense'", "expected 3 input features", "got 2"]),
])
def test_fit_refuses_bad_data(x: object, y: object, error: type[Exception], fragments: list[str]) -> None:
    raises(error, lambda: compiled_network().fit(x, y, verbose=0), *fragments)


@pytest.mark.parametrize("method", ["evaluate", "train_step"])
def test_evaluate_and_train_step_refuse_nan_targets(method: str) -> None:
    net = compiled_network()
    bad_y = _with(Y_TRAIN, (0,), np.nan)
    raises(ValueError, lambda: getattr(net, method)(X_TRAIN, bad_y), f"{method} y",
     "must be finite", "got nan")


def test_flat_and_column_targets_train_identically() -> None:
    flat, column = compiled_network(), compiled_network()
    flat.fit(X_TRAIN, Y_TRAIN, epochs=3, batch_size=8, seed=0, verbose=0)
    column.fit(X_TRAIN, Y_TRAIN[:, None], epochs=3, batch_size=8, seed=0, verbose=0)
    for a, b in zip(flat.parameters(), column.parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)


def test_integer_data_trains_exactly_as_its_float_version() -> None:
    x_int = np.rint(X_TRAIN * 3).astype(np.int32)
    y_int = np.rint(Y_TRAIN).astype(np.int64)
    from_int, from_float = compiled_network(), compiled_network()
    from_int.fit(x_int, y_int, epochs=2, batch_size=8, seed=0, verbose=0)
    from_float.fit(x_int.astype(np.float64), y_int.astype(np.float64), epochs=2, batch_size=8, seed=0,
                   verbose=0)
    for a, b in zip(from_int.parameters(), from_float.parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)


def test_float32_training_stays_float32_and_tracks_float64() -> None:
    net32, net64 = compiled_network("float32"), compiled_network("float64")
    history32 = net32.fit(X_TRAIN.astype(np.float32), Y_TRAIN.astype(np.float32), epochs=3, batch_size=8,
                          seed=0, verbose=0)
    history64 = net64.fit(X_TRAIN, Y_TRAIN, epochs=3, batch_size=8, seed=0, verbose=0)
    assert all(p.value.dtype == np.float32 for p in net32.parameters())
    np.testing.assert_allclose(history32.history["loss"], history64.history["loss"], rtol=1e-4)


def test_a_diverging_run_stops_itself_and_keeps_finite_weights() -> None:
    net = compiled_network(learning_rate=10.0)
    with pytest.warns(RuntimeWarning, match="stopped: the training loss became"), \
            np.errstate(over="ignore", invalid="ignore"):
        history = net.fit(X_TRAIN * 100, Y_TRAIN * 100, epochs=50, batch_size=8, seed=0, verbose=0)
    assert len(history.epoch) < 50
    assert net.stop_reason is not None and "try a smaller learning rate" in net.stop_reason
    assert history.stop_reason == net.stop_reason
    assert all(np.all(np.isfinite(p.value)) for p in net.parameters())


@pytest.mark.parametrize(("kwargs", "error", "fragments"), [
    ({"patience": -1}, ValueError, ["EarlyStopping patience", "integer >= 0", "got -1"]),
    ({"patience": 1.5}, ValueError, ["EarlyStopping patience", "integer >= 0", "got 1.5"]),
    ({"min_delta": -1}, ValueError, ["EarlyStopping min_delta", "[0.0, inf]", "got -1.0"]),
    ({"mode": "best"}, ValueError, ["EarlyStopping mode", "'auto', 'min' or 'max'", "got 'best'"]),
    ({"monitor": 3}, TypeError, ["EarlyStopping monitor", "a name such as 'val_loss'", "got 3"]),
])
def test_early_stopping_arguments_are_checked(kwargs: dict, error: type[Exception],
                                              fragments: list[str]) -> None:
    raises(error, lambda: minidl.EarlyStopping(**kwargs), *fragments)


def test_early_stopping_on_a_missing_monitor_names_it() -> None:
    stop = minidl.EarlyStopping(monitor="val_loss")
    raises(ValueError, lambda: compiled_network().fit(X_TRAIN, Y_TRAIN, verbose=0, callbacks=[stop]),
           "EarlyStopping monitor 'val_loss' is not in the epoch logs", "available: loss, mae")


# -- Dropout and BatchNorm ------------------------------------------------------------------------
@pytest.mark.parametrize(("rate", "error", "fragments"), [
    (1.0, ValueError, ["[0.0, 1.0)", "got 1.0"]),
    (-0.1, ValueError, ["[0.0, 1.0)", "got -0.1"]),
    (np.nan, ValueError, ["finite", "got nan"]),
    ("0.5", TypeError, ["real number", "got '0.5'"]),
])
def test_dropout_rate_is_checked(rate: object, error: type[Exception], fragments: list[str]) -> None:
    raises(error, lambda: minidl.Dropout(rate), "Dropout rate", *fragments)


@pytest.mark.parametrize(("kwargs", "error", "fragments"), [
    ({"num_features": 0}, ValueError, ["num_features", "positive integer", "got 0"]),
    ({"num_features": 3, "momentum": 2}, ValueError, ["momentum", "[0.0, 1.0]", "got 2.0"]),
    ({"num_features": 3, "epsilon": 0}, ValueError, ["epsilon", "(0.0, inf]", "got 0.0"]),
    ({"num_features": 3, "dtype": int}, TypeError, ["dtype must be a floating dtype", "got int64"]),
])
def test_batchnorm_arguments_are_checked(kwargs: dict, error: type[Exception], fragments: list[str]) -> None:
    raises(error, lambda: minidl.BatchNorm(**kwargs), "BatchNorm 'batchnorm'", *fragments)


def test_batchnorm_wrong_features_and_batch_of_one() -> None:
    layer = minidl.BatchNorm(3)
    raises(ValueError, lambda: layer.forward(np.ones((4, 2))), "BatchNorm 'batchnorm'",
           "expected input of shape (batch, 3) or (3,)", "got shape (4, 2)")
    raises(ValueError, lambda: layer.forward(np.ones((1, 3))), "at least 2 samples per batch",
           "got a batch of 1")


@pytest.mark.parametrize("layer", [minidl.Dropout(0.5), minidl.BatchNorm(2)], ids=["dropout", "batchnorm"])
def test_dropout_and_batchnorm_backward_before_forward(layer: minidl.Layer) -> None:
    raises(RuntimeError, lambda: layer.backward(np.ones((2, 2))), f"'{layer.name}'",
           "backward() called before forward()")


# -- model files ------------------------------------------------------------------------------------
def test_load_bad_arguments(tmp_path) -> None:
    raises(FileNotFoundError, lambda: minidl.load(tmp_path / "missing.npz"))
    raises(ValueError, lambda: minidl.load(tmp_path, max_bytes=-1), "load max_bytes", "positive integer",
           "got -1")
    (tmp_path / "text.npz").write_text("hello")
    raises(minidl.ModelFileError, lambda: minidl.load(tmp_path / "text.npz"), "not a minidl model file")


def test_save_bad_arguments(tmp_path) -> None:
    raises(TypeError, lambda: network().save(tmp_path / "m.npz", include_optimizer="no"),
           "save include_optimizer", "True or False", "got 'no'")
    raises(FileNotFoundError, lambda: network().save(tmp_path / "missing" / "m.npz"))


def test_evaluate_and_train_step_check_sizes_and_batch_size() -> None:
    net = compiled_network()
    raises(ValueError, lambda: net.evaluate(X_TRAIN, Y_TRAIN, batch_size=0), "evaluate batch_size",
           "positive integer", "got 0")
    raises(ValueError, lambda: net.evaluate(X_TRAIN, Y_TRAIN[:5]), "evaluate: x has 20 samples",
           "y has 5 samples")
    raises(ValueError, lambda: net.train_step(X_TRAIN, np.ones((20, 2))), "predicted has shape (20, 1)",
           "actual has shape (20, 2)")
    raises(ValueError, lambda: net.train_step(X_TRAIN[:, :2], Y_TRAIN), "Dense 'dense'",
           "expected 3 input features", "got 2")


@pytest.mark.parametrize(("loss", "last", "y", "fragments"), [
    ("sparse_categorical_crossentropy", Softmax, np.arange(20) % 5,
     ["fit y", "labels must be in [0, 3) for a network with 3 outputs", "got values from 0 to 4"]),
    ("sparse_categorical_crossentropy", Softmax, np.full(20, 0.5),
     ["fit y", "class labels must be whole numbers", "got e.g. 0.5"]),
    ("categorical_crossentropy", Softmax, np.ones((20, 3)),
     ["fit y", "one-hot rows (summing to 1)", "row 0 sums to 3"]),
    ("binary_crossentropy", Sigmoid, np.full((20, 3), 2.0),
     ["fit y", "binary_crossentropy targets must be in [0, 1]", "got values from 2 to 2"]),
])
def test_classification_targets_are_checked(loss: str, last: type, y: np.ndarray,
                                            fragments: list[str]) -> None:
    net = Network([Dense(3, 3, seed=0), last()])
    net.compile(optimizer="sgd", loss=loss)
    raises(ValueError, lambda: net.fit(X_TRAIN, y, verbose=0), *fragments)
