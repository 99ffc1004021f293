"""fit (minidl/training/trainer.py and step.py): it learns, reproducibly, in the network's dtype;
user layers' gradients cleared; bad arguments and data refused."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import SGD, Adam, Dense, Layer, Network, Parameter, ReLU, Sigmoid, Softmax, Tanh
from tests.gradcheck_broken import HelperScale, InnerDense, LazyScale, ListScale
from tests.messages import raises
from tests.training.helpers import (
    F32,
    X_TRAIN,
    Y_TRAIN,
    InputRecorder,
    Recorder,
    changed,
    classification_data,
    classifier,
    compiled_net,
    compiled_network,
    linear_data,
)


class AccumulatingPolynomial(Layer):
    """y = a0 + a1 x + a2 x^2, whose backward ADDS to its gradient (PyTorch's habit)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = Parameter(np.zeros(3), name="a")

    def forward(self, x):
        self.powers = np.concatenate([np.ones_like(x), x, x * x], axis=1)  # (N, 3)
        return self.powers @ self.a.value[:, None]

    def backward(self, grad_y):
        self.a.grad += self.powers.T @ grad_y[:, 0]  # accumulates: += rather than =
        return grad_y * (self.a.value[1] + 2 * self.a.value[2] * self.powers[:, 1:2])


X = np.linspace(-1.0, 1.0, 21)[:, None]
Y = 2.0 - 1.0 * X[:, 0] + 0.5 * X[:, 0] ** 2  # exactly reachable: a = [2, -1, 0.5]


def test_an_accumulating_layer_trains_to_the_exact_polynomial_under_fit() -> None:
    # Before the step cleared user layers' gradients, this ended at a = [2.67, -0.96, 0.07]:
    # each batch's gradient was added to all the previous ones (a momentum nobody asked for).
    layer = AccumulatingPolynomial()
    net = Network([layer])
    net.compile(optimizer=SGD(learning_rate=0.5), loss="mse")
    net.fit(X, Y, epochs=400, batch_size=7, verbose=0, seed=0)
    np.testing.assert_allclose(layer.a.value, [2.0, -1.0, 0.5], atol=1e-6)


def test_without_clearing_the_same_layer_would_not_converge() -> None:
    # The control experiment: the same loop written by hand without zero_grad drifts away.
    layer = AccumulatingPolynomial()
    optimizer = SGD(learning_rate=0.5)
    with np.errstate(all="ignore"):  # it diverges
        run_without_clearing(layer, optimizer)
    assert not np.allclose(layer.a.value, [2.0, -1.0, 0.5], atol=1e-2)


def run_without_clearing(layer, optimizer):
    for _ in range(400):
        for start in range(0, len(X), 7):
            xb, yb = X[start : start + 7], Y[start : start + 7, None]
            grad = 2 * (layer.forward(xb) - yb) / len(xb)
            layer.backward(grad)
            optimizer.step(layer.parameters())


def test_train_step_clears_an_accumulating_layer_before_each_backward() -> None:
    layer = AccumulatingPolynomial()
    net = Network([layer])
    net.compile(optimizer=SGD(learning_rate=0.5), loss="mse")
    for _ in range(500):
        net.train_step(X, Y)
    np.testing.assert_allclose(layer.a.value, [2.0, -1.0, 0.5], atol=1e-6)


def test_loss_and_backward_twice_gives_the_same_gradient_not_twice_it() -> None:
    layer = AccumulatingPolynomial()
    net = Network([layer])
    net.compile(optimizer="sgd", loss="mse")
    net.loss_and_backward(X, Y)
    first = layer.a.grad.copy()
    net.loss_and_backward(X, Y)
    np.testing.assert_array_equal(layer.a.grad, first)
    # dL/da = 2/N * powers.T @ (prediction - y) with a = 0: -2/N * powers.T @ y.
    powers = np.concatenate([np.ones_like(X), X, X * X], axis=1)
    np.testing.assert_allclose(first, -2.0 / len(X) * powers.T @ Y, rtol=1e-12)


def test_a_layer_that_overwrites_is_not_cleared_by_the_step() -> None:
    # A layer that declares overwrites_gradients is trusted: the step does not zero its grad.
    class Declared(AccumulatingPolynomial):
        overwrites_gradients = True

    layer = Declared()
    net = Network([layer])
    net.compile(optimizer="sgd", loss="mse")
    net.loss_and_backward(X, Y)
    first = layer.a.grad.copy()
    net.loss_and_backward(X, Y)
    np.testing.assert_allclose(layer.a.grad, 2 * first)  # it said it overwrites; it added


@pytest.mark.parametrize("method", ["train_step", "loss_and_backward"])
def test_a_single_sample_is_a_batch_of_one(method: str) -> None:
    nets = [Network([Dense(3, 2, seed=1), Dense(2, 1, seed=2)]) for _ in range(2)]
    for net in nets:
        net.compile(optimizer=SGD(0.1), loss="mse")
    sample, target = np.array([1.0, -2.0, 0.5]), np.array([3.0])
    value_one = getattr(nets[0], method)(sample, target)
    value_batch = getattr(nets[1], method)(sample[None, :], target[None, :])
    assert value_one == value_batch
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)
        np.testing.assert_array_equal(a.grad, b.grad)


@pytest.mark.parametrize(("kwargs", "error", "fragments"), [
    ({"epochs": -1}, ValueError, ["fit epochs", "an integer >= 0", "got -1"]),  # 0 trains nothing, as Keras
    ({"epochs": 2.5}, ValueError, ["fit epochs", "an integer >= 0", "got 2.5"]),
    ({"epochs": "10"}, ValueError, ["fit epochs", "an integer >= 0", "got '10'"]),
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


@pytest.mark.parametrize(("x", "y", "error", "fragments"), [
    (X_TRAIN, Y_TRAIN[:10], ValueError, ["fit: x has 20 samples (shape (20, 3))", "y has 10 samples"]),
    (X_TRAIN, np.ones((20, 2)), ValueError, ["fit y", "predicted has shape (20, 1)",
     "actual has shape (20, 2)"]),
    (X_TRAIN, np.float64(1.0), ValueError, ["fit: x has 20 samples", "y has a scalar"]),
    (X_TRAIN, changed(Y_TRAIN, (3,), np.nan), ValueError, ["fit y must be finite", "got nan at index (3,)"]),
    (changed(X_TRAIN, (4, 1), np.inf), Y_TRAIN, ValueError, ["fit x must be finite",
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


def test_fit_keeps_a_float32_network_float32_end_to_end() -> None:
    recorder = InputRecorder()
    net = classifier(recorder)
    x, labels = classification_data()
    parameters = net.parameters()
    values = [p.value for p in parameters]
    history = net.fit(x, labels, epochs=5, batch_size=16, verbose=0, seed=0, validation_split=0.2)
    assert all(batch.dtype == F32 for batch in recorder.inputs)
    for parameter, original in zip(net.parameters(), values, strict=True):
        assert parameter.value.dtype == F32 and parameter.grad.dtype == F32
        assert parameter.value is original  # updated in place all along
    state = net.optimizer.state_arrays(parameters)
    assert all(array.dtype == F32 for array in state.values() if array.ndim)
    assert net.predict(x).dtype == F32
    assert history.history["loss"][-1] < history.history["loss"][0]


class _RebindsGrad(minidl.Layer):
    """A learner's mistake: the bias gradient is not summed over the batch and rebinds grad."""

    def __init__(self) -> None:
        super().__init__()
        self.b = minidl.Parameter(np.zeros(3))  # no name: the error uses the attribute's

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x + self.b.value

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        self.b.grad = grad_y.copy()  # shape (batch, 3), should be grad_y.sum(axis=0)
        return grad_y


def test_fit_names_a_parameter_gradient_of_the_wrong_shape() -> None:
    x = np.random.default_rng(0).normal(size=(8, 3))
    network = minidl.Network([minidl.Dense(3, 3, seed=0), _RebindsGrad()])
    network.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"_RebindsGrad '_rebindsgrad'.*'b'.*\(8, 3\).*\(3,\)"):
        network.fit(x, x, epochs=1, batch_size=8, verbose=0)


def test_fit_refuses_a_parameter_created_in_forward() -> None:
    # It would never be trained: the optimizer's list of parameters was made before it existed.
    x = np.random.default_rng(0).normal(size=(8, 3))
    network = minidl.Network([minidl.Dense(3, 3, seed=0), LazyScale()])
    network.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"LazyScale 'lazyscale'.*'w'.*__init__"):
        network.fit(x, x, epochs=1, verbose=0)



class _PReLU(minidl.Activation):
    """A learner's mistake: a parameter in an Activation, whose inherited backward fills no gradient."""

    def __init__(self) -> None:
        super().__init__()
        self.alpha = minidl.Parameter(np.full(1, 0.25))

    def function(self, x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, x, self.alpha.value * x)

    def derivative(self, x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, 1.0, self.alpha.value)


class _TrainedPReLU(_PReLU):
    """The same with its own backward, which fills alpha's gradient."""

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        self.alpha.grad[...] = (grad_y * np.minimum(self._x, 0.0)).sum()
        return grad_y * self.derivative(self._x)


def test_fit_refuses_an_activation_with_parameters_and_the_inherited_backward() -> None:
    x = np.random.default_rng(0).normal(size=(8, 3))
    network = minidl.Network([minidl.Dense(3, 3, seed=0), _PReLU()])
    network.compile(optimizer="sgd", loss="mse")
    raises(ValueError, lambda: network.fit(x, x, epochs=1, verbose=0),
           "_PReLU '_prelu': an Activation's backward fills no parameter gradients, so its parameters "
           "('alpha') would never be trained; subclass Layer and write backward", "or override backward")
    class Scaled(minidl.Identity):  # Identity's backward fills no parameter gradient either
        def __init__(self) -> None:
            super().__init__()
            self.scale = minidl.Parameter(np.ones(1), name="scale")

    identity = minidl.Network([minidl.Dense(3, 3, seed=0), Scaled()])
    identity.compile(optimizer="sgd", loss="mse")
    raises(ValueError, lambda: identity.fit(x, x, epochs=1, verbose=0),
           "Scaled 'scaled': an Activation's backward")
    trained = minidl.Network([minidl.Dense(3, 3, seed=0), _TrainedPReLU()])
    trained.compile(optimizer="sgd", loss="mse")
    trained.fit(x, x, epochs=2, verbose=0)
    assert trained[1].alpha.value[0] != 0.25


def test_fit_refuses_a_parameter_kept_in_a_list() -> None:
    x = np.random.default_rng(0).normal(size=(8, 3))
    network = minidl.Network([minidl.Dense(3, 3, seed=0), ListScale()])
    network.compile(optimizer="sgd", loss="mse")
    raises(ValueError, lambda: network.fit(x, x, epochs=1, verbose=0),
           "ListScale 'listscale': attribute 'weights' holds a Parameter inside a list that parameters() "
           "did not list before forward ran, so the optimizers never update it: create it in __init__")



def test_fit_refuses_a_layer_with_parameters_kept_in_a_layer_and_a_parameter_on_a_plain_object() -> None:
    # the inner Dense (PyTorch's habit) and the helper's Parameter were silently never trained
    x = np.random.default_rng(0).normal(size=(8, 3))
    inner = minidl.Network([InnerDense(), minidl.Dense(3, 1, seed=1)])
    inner.compile(optimizer="sgd", loss="mse")
    raises(ValueError, lambda: inner.fit(x, x[:, :1], epochs=1, verbose=0),
           "InnerDense 'innerdense': attribute 'inner' holds the layer Dense 'dense', whose Parameter "
           "'weight' parameters() does not list", "minidl does not nest layers; list 'dense' in the "
           "Network, or keep its Parameters as attributes of your layer")
    helper = minidl.Network([HelperScale(), minidl.Dense(3, 1, seed=1)])
    helper.compile(optimizer="sgd", loss="mse")
    raises(ValueError, lambda: helper.fit(x, x[:, :1], epochs=1, verbose=0),
           "HelperScale 'helperscale': attribute 'p' holds a Parameter inside a Helper")


class _SeenRecorder(minidl.Layer):
    """A pass-through layer noting what it sees: (mode, shape, dtype) forward, dtypes backward."""

    def __init__(self) -> None:
        super().__init__()
        self.forward_seen: list[tuple[bool, tuple[int, ...], np.dtype]] = []
        self.backward_dtypes: set[np.dtype] = set()

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.forward_seen.append((self.training, x.shape, x.dtype))
        return x

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        self.backward_dtypes.add(grad_y.dtype)
        return grad_y


def test_fit_validates_in_batches_of_batch_size_not_all_at_once() -> None:
    # Validating all held-out samples in one forward pass holds their activations all at
    # once: with validation_split=0.2 that took fit's peak memory on the benchmark's MLP
    # from 1.11x to 1.22x of the arrays it must hold (issue 6's target is 1.2x), and it
    # grows with the data set. Keras validates in batches of batch_size too.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 3))
    y = x @ np.array([1.0, -2.0, 0.5])
    recorder = _SeenRecorder()
    network = minidl.Network([minidl.Dense(3, 4, seed=0), recorder, minidl.ReLU(),
                              minidl.Dense(4, 1, seed=1)])
    network.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = network.fit(x, y, epochs=1, batch_size=8, validation_split=0.4, verbose=0, seed=0)
    validation_rows = [shape[0] for training, shape, _ in recorder.forward_seen if not training]
    assert sum(validation_rows) >= 40  # the 40 held-out samples were all validated...
    assert max(validation_rows) <= 8  # ...in batches of at most batch_size
    # Batching does not change the numbers: the same as evaluate on the held-out samples.
    expected = network.evaluate(x[60:], y[60:])
    assert history.history["val_loss"][0] == pytest.approx(expected["loss"], rel=1e-12)
    assert history.history["val_mae"][0] == pytest.approx(expected["mae"], rel=1e-12)


@pytest.mark.parametrize(
    ("loss", "head", "outputs", "kind"),
    [
        ("sparse_categorical_crossentropy", minidl.Softmax, 3, "labels"),  # fused with Softmax
        (minidl.SparseCategoricalCrossEntropy(from_logits=True), None, 3, "labels"),
        ("categorical_crossentropy", minidl.Softmax, 3, "onehot"),  # fused with Softmax
        ("binary_crossentropy", minidl.Sigmoid, 1, "binary"),  # fused with Sigmoid
        ("mse", None, 1, "real"),
    ],
    ids=["sparse-fused", "sparse-logits", "categorical-fused", "binary-fused", "mse"],
)
def test_fit_of_a_float32_network_keeps_float32_through_every_forward_and_backward(
    loss: str | minidl.Loss, head: type[minidl.Layer] | None, outputs: int, kind: str
) -> None:
    # A recorder between the layers (not only before the first one, whose backward fit
    # never calls) sees the activations and the gradients flowing back. A float64
    # gradient here would be silently cast back by Dense's out= buffers, so checking
    # the parameters' dtypes alone could not notice it.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 4))  # float64 on purpose: fit casts it once
    classes = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    y = {"labels": classes, "onehot": np.eye(3)[classes], "binary": (x[:, 0] > 0).astype(float),
         "real": x[:, 0] * 2.0}[kind]
    early, late = _SeenRecorder(), _SeenRecorder()
    layers: list[minidl.Layer] = [minidl.Dense(4, 8, seed=0), early, minidl.ReLU(),
                                  minidl.Dense(8, outputs, seed=1), late]
    if head is not None:
        layers.append(head())
    network = minidl.Network(layers).astype(np.float32)
    network.compile(optimizer=minidl.Adam(0.01), loss=loss)
    network.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0, seed=0)
    for recorder in (early, late):
        assert {dtype for _, _, dtype in recorder.forward_seen} == {F32}
        assert recorder.backward_dtypes == {F32}


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])


def test_xor_learned_to_100_percent_from_a_fixed_seed():
    net = Network([Dense(2, 8, seed=0), Tanh(), Dense(8, 1, seed=1), Sigmoid()])
    net.compile(optimizer=Adam(learning_rate=0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = net.fit(XOR_X, XOR_Y, epochs=300, batch_size=4, verbose=0, seed=0)
    predicted = (net.predict(XOR_X)[:, 0] > 0.5).astype(float)
    np.testing.assert_array_equal(predicted, XOR_Y)
    assert history.history["accuracy"][-1] == 1.0
    assert net.evaluate(XOR_X, XOR_Y)["accuracy"] == 1.0


def test_full_batch_sgd_converges_to_least_squares():
    x, y = linear_data()
    net = Network([Dense(3, 1, weight_init="zeros")])
    net.compile(optimizer=SGD(learning_rate=0.2), loss="mse")
    net.fit(x, y, epochs=600, batch_size=len(x), shuffle=False, verbose=0)
    design = np.hstack([x, np.ones((len(x), 1))])
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    np.testing.assert_allclose(net[0].weight.value[:, 0], solution[:3], rtol=0, atol=1e-6)
    np.testing.assert_allclose(net[0].bias.value, solution[3:], rtol=0, atol=1e-6)


def test_one_full_batch_epoch_is_one_gradient_step_on_the_mean_loss():
    x, y = linear_data(n=10)
    w0 = np.array([[0.1], [0.2], [-0.3]])
    net = Network([Dense(3, 1, weight_init=w0, bias_init=[0.5])])
    net.compile(optimizer=SGD(learning_rate=0.05), loss="mse")
    history = net.fit(x, y, epochs=1, batch_size=100, shuffle=False, verbose=0)
    residual = x @ w0[:, 0] + 0.5 - y
    grad_w = 2 * x.T @ residual / len(x)
    grad_b = 2 * residual.sum() / len(x)
    np.testing.assert_allclose(net[0].weight.value[:, 0], w0[:, 0] - 0.05 * grad_w, rtol=1e-13)
    np.testing.assert_allclose(net[0].bias.value, [0.5 - 0.05 * grad_b], rtol=1e-13)
    # The logged loss is the mean loss at the weights before the step.
    assert history.history["loss"] == [pytest.approx(np.mean(residual**2), rel=1e-13)]


def test_train_step_matches_a_full_batch_epoch():
    x, y = linear_data(n=12)
    nets = [Network([Dense(3, 4, seed=3), ReLU(), Dense(4, 1, seed=4)]) for _ in range(2)]
    for net in nets:
        net.compile(optimizer=SGD(learning_rate=0.01, momentum=0.9), loss="mse")
    for _ in range(3):
        nets[0].train_step(x, y)
    nets[1].fit(x, y, epochs=3, batch_size=12, shuffle=False, verbose=0)
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)


def test_classification_with_sparse_labels_and_softmax():
    rng = np.random.default_rng(5)
    centers = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    labels = rng.integers(0, 3, size=150)
    x = centers[labels] + 0.5 * rng.normal(size=(150, 2))
    net = Network([Dense(2, 16, seed=1), ReLU(), Dense(16, 3, seed=2), Softmax()])
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = net.fit(x, labels, epochs=40, batch_size=16, verbose=0, seed=1)
    assert history.history["accuracy"][-1] > 0.95
    probabilities = net.predict(x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    # The same data as one-hot rows with categorical cross-entropy gives the same loss.
    onehot = np.eye(3)[labels]
    net.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    both = net.evaluate(x, onehot)
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert net.evaluate(x, labels) == pytest.approx(both, rel=1e-12)


def fitted(seed, **kwargs):
    x, y = linear_data(n=30)
    net = Network([Dense(3, 5, seed=7), Tanh(), Dense(5, 1, seed=8)])
    net.compile(optimizer=Adam(0.01), loss="mse", metrics=["mae"])
    history = net.fit(x, y, epochs=4, batch_size=7, verbose=0, seed=seed, validation_split=0.2, **kwargs)
    return net, history


def test_same_seed_gives_bit_identical_results():
    a, history_a = fitted(123)
    b, history_b = fitted(123)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value)
    assert history_a.history == history_b.history
    c, _ = fitted(124)
    assert not np.array_equal(a[0].weight.value, c[0].weight.value)
    gen_1, _ = fitted(np.random.default_rng(9))
    gen_2, _ = fitted(np.random.default_rng(9))
    np.testing.assert_array_equal(gen_1[0].weight.value, gen_2[0].weight.value)


def test_history_keys_lengths_and_values():
    x, y = linear_data(n=20)
    net, history = fitted(0)
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert all(len(values) == 4 for values in history.history.values())
    assert history.epoch == [0, 1, 2, 3]
    assert history.stop_reason is None
    assert net.history is history
    # The validation numbers are evaluate() on the held-out last 20 %, after the epoch.
    x, y = linear_data(n=30)
    held_out = net.evaluate(x[24:], y[24:])
    assert history.history["val_loss"][-1] == pytest.approx(held_out["loss"], rel=1e-14)
    assert history.history["val_mae"][-1] == pytest.approx(held_out["mae"], rel=1e-14)


def test_modes_training_in_fit_evaluation_in_evaluate_and_restored():
    x, y = linear_data(n=8)
    recorder = Recorder()
    net = Network([recorder, Dense(3, 1, seed=0)])
    net.compile(optimizer=SGD(0.01), loss="mse")
    net.eval()
    net.fit(x, y, epochs=1, batch_size=8, verbose=0, validation_split=0.25)
    assert recorder.modes[-2:] == [True, False]  # last batch in training, validation in evaluation
    assert not net.training  # restored
    net.train()
    recorder.modes.clear()
    net.evaluate(x, y)
    assert recorder.modes == [False, False]  # the shape probe and the evaluation
    assert net.training


def test_float32_network_trains_in_float32():
    x, y = linear_data(n=16)
    net = Network([Dense(3, 4, seed=0, dtype=np.float32), ReLU(), Dense(4, 1, seed=1, dtype=np.float32)])
    net.compile(optimizer="adam", loss="mse")
    net.fit(x, y, epochs=2, batch_size=4, verbose=0, seed=0)
    assert all(p.value.dtype == np.float32 and p.grad.dtype == np.float32 for p in net.parameters())


def test_fit_accepts_an_int_target_and_column_target():
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    for y in ([1, 3, 5, 7], [[1], [3], [5], [7]]):
        net = Network([Dense(1, 1, weight_init="zeros")])
        net.compile(optimizer=SGD(0.05), loss="mse")
        history = net.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
        assert history.history["loss"][0] == pytest.approx(np.mean(np.array([1, 3, 5, 7]) ** 2))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"epochs": -1}, "epochs"),
    ({"epochs": 2.5}, "epochs"),
    ({"batch_size": -1}, "batch_size"),
    ({"validation_split": 1.0}, "validation_split"),
    ({"validation_split": -0.1}, "validation_split"),
    ({"validation_split": float("nan")}, "validation_split"),
    ({"verbose": 3}, "verbose"),
    ({"shuffle": "yes"}, "shuffle"),
    ({"seed": "abc"}, "seed"),
    ({"callbacks": [print]}, "Callback"),
])
def test_bad_fit_arguments(kwargs, match):
    x, y = linear_data(n=8)
    with pytest.raises((ValueError, TypeError), match=match):
        compiled_net().fit(x, y, **{"verbose": 0, **kwargs})


def test_bad_fit_data():
    x, y = linear_data(n=8)
    net = compiled_net()
    with pytest.raises(ValueError, match=r"8 samples .* 7 samples"):
        net.fit(x, y[:7], verbose=0)
    bad = x.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"fit x must be finite.*\(2, 1\)"):
        net.fit(bad, y, verbose=0)
    with pytest.raises(ValueError, match="batch axis"):
        net.fit(x[0], y[:1], verbose=0)
    with pytest.raises(ValueError, match="shape"):
        net.fit(x, np.ones((8, 2)), verbose=0)
    with pytest.raises(ValueError, match="leaves 0 for training"):
        net.fit(x[:1], y[:1], validation_split=0.1, verbose=0)
    with pytest.raises(ValueError, match="not both"):
        net.fit(x, y, validation_split=0.2, validation_data=(x, y), verbose=0)
    with pytest.raises(ValueError, match="features"):
        net.fit(np.ones((8, 2)), y, verbose=0)


def test_bad_classification_targets():
    x = np.ones((4, 2))
    net = Network([Dense(2, 3, seed=0), Softmax()])
    net.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        net.fit(x, [0, 1, 2, 3], verbose=0)
    with pytest.raises(ValueError, match="whole numbers"):
        net.fit(x, [0, 1, 2, 1.5], verbose=0)
    net.compile(optimizer="sgd", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="one-hot rows"):
        net.fit(x, [[1, 1, 0]] * 4, verbose=0)
    with pytest.raises(ValueError, match="shape"):
        net.fit(x, [0, 1, 2, 1], verbose=0)
    binary = Network([Dense(2, 1, seed=0), Sigmoid()])
    binary.compile(optimizer="sgd", loss="binary_crossentropy")
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        binary.fit(x, [0, 1, 2, 1], verbose=0)


def test_fit_on_a_network_without_parameters():
    net = Network([ReLU()])
    net.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="no parameters"):
        net.fit(np.ones((2, 1)), np.ones(2), verbose=0)


class ScalesItsInputInPlace(minidl.Layer):
    def forward(self, x):
        x *= 2.0  # the bug: the caller's array
        return x

    def backward(self, grad_y):
        return 2.0 * grad_y


def test_a_layer_that_changes_fits_data_in_place_is_refused_on_the_first_batch():
    # With shuffle=False the user's x doubled at every pass (the loss grew at learning rate 0)
    x = np.arange(8.0).reshape(4, 2)
    net = Network([ScalesItsInputInPlace(), Dense(2, 1, seed=0)])
    net.compile(optimizer=SGD(0.0), loss="mse")
    raises(ValueError, lambda: net.fit(x, np.zeros(4), epochs=3, shuffle=False, verbose=0),
           "fit: the network's forward or backward changed the first batch of x in place",
           "a layer must leave its input as it is (x = x * a)")
