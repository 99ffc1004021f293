"""The losses' public entry (minidl/losses/base.py): targets checked, batch axis added, once for all;
float32 kept, loss names resolved; a user loss may follow either contract: the template
(compute/gradient) or its own forward/backward."""

from __future__ import annotations

import copy
from fractions import Fraction

import numpy as np
import pytest

import minidl
from minidl import (
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    Dense,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
    Network,
    Sigmoid,
    Softmax,
    SparseCategoricalCrossEntropy,
    check_gradients,
)
from minidl.losses import get_loss, match_target
from minidl.losses.base import with_batch_axis
from tests.messages import raises


class Recorder(Loss):
    """A loss that records what its math receives: the shapes after the public entry."""

    def compute(self, predicted, target):
        self.seen = (predicted.shape, target.shape)
        self.predicted = predicted
        return float(predicted.sum())

    def gradient(self):
        return np.ones_like(self.predicted)


@pytest.mark.parametrize(("predicted", "actual", "seen"), [
    (np.ones(3), [1.0, 2.0, 3.0], ((1, 3), (1, 3))),          # one sample of 3 outputs
    (np.ones(1), 2.0, ((1, 1), (1, 1))),                      # one sample, one output, scalar target
    (np.array(1.0), 2.0, ((1, 1), (1, 1))),                   # a scalar prediction
    (np.ones((4, 1)), np.ones(4), ((4, 1), (4, 1))),          # (N,) target for (N, 1): a column
    (np.ones((2, 3, 5)), np.ones((2, 3, 5)), ((2, 3, 5), (2, 3, 5))),  # any rank, batch first
])
def test_compute_always_sees_a_batch_and_backward_returns_the_given_shape(predicted, actual, seen):
    loss = Recorder()
    loss.forward(predicted, actual)
    assert loss.seen == seen
    assert loss.backward().shape == predicted.shape


def test_a_single_sample_gives_the_same_loss_and_gradient_as_a_batch_of_one():
    p, y = np.array([0.2, 0.5, 0.3]), np.array([0.0, 1.0, 0.0])
    for make in (MeanSquaredError, MeanAbsoluteError, BinaryCrossEntropy, CategoricalCrossEntropy):
        single, batch = make(), make()
        assert single.forward(p, y) == batch.forward(p[None], y[None])
        np.testing.assert_array_equal(single.backward(), batch.backward()[0])
    single, batch = SparseCategoricalCrossEntropy(), SparseCategoricalCrossEntropy()
    assert single.forward(p, 1) == batch.forward(p[None], [1])
    np.testing.assert_array_equal(single.backward(), batch.backward()[0])


def test_never_broadcasts_a_flat_target_against_a_column_into_a_table():
    # (N,) against (N, 1) broadcast would be (N, N): mean of 9 squared differences, not 3.
    loss = MeanSquaredError()
    assert loss.forward(np.array([[1.0], [2.0], [3.0]]), [1.0, 2.0, 6.0]) == 3.0
    assert loss.backward().tolist() == [[0.0], [0.0], [-2.0]]


def test_a_failed_forward_leaves_nothing_for_backward():
    loss = MeanSquaredError()
    loss.forward(np.ones((2, 1)), [1.0, 1.0])
    with pytest.raises(ValueError, match="must match"):
        loss.forward(np.ones((2, 2)), [1.0, 1.0])
    with pytest.raises(RuntimeError, match=r"MeanSquaredError.backward\(\) called before forward\(\)"):
        loss.backward()


def test_with_batch_axis_leaves_a_batch_alone_and_reshapes_a_sample_without_copying():
    batch = np.ones((2, 3))
    assert with_batch_axis(batch, batch)[0] is batch
    sample = np.arange(3.0)
    p, labels = with_batch_axis(sample, np.array(2))
    assert p.shape == (1, 3) and labels.shape == (1,) and np.shares_memory(p, sample)


def test_losses_that_do_not_fuse_say_so_and_refuse_logits():
    loss = MeanSquaredError()
    assert not any(loss.fuses_with(layer) for layer in (Softmax(), Sigmoid(), Dense(1, 1)))
    with pytest.raises(TypeError, match="MeanSquaredError does not read logits"):
        loss.forward_from_logits(np.ones((2, 1)), [1.0, 1.0])


@pytest.mark.parametrize(("loss", "last", "fuses"), [
    (CategoricalCrossEntropy(), Softmax(), True),
    (SparseCategoricalCrossEntropy(), Softmax(), True),
    (BinaryCrossEntropy(), Sigmoid(), True),
    (BinaryCrossEntropy(), Softmax(), False),
    (CategoricalCrossEntropy(), Sigmoid(), False),
    (CategoricalCrossEntropy(from_logits=True), Softmax(), False),  # it reads logits already
])
def test_fuses_with_names_the_activation_each_cross_entropy_reads(loss, last, fuses):
    assert loss.fuses_with(last) is fuses


def test_check_target_returns_what_compute_reads_with_the_callers_name_in_errors():
    template = np.zeros((3, 2))
    labels = SparseCategoricalCrossEntropy().check_target(template, [[1], [0], [1]], "y")
    np.testing.assert_array_equal(labels, [1, 0, 1])
    assert SparseCategoricalCrossEntropy().check_target(template, [1.0, 0.0, 1.0], "y").dtype == np.intp
    assert MeanSquaredError().check_target(np.zeros((3, 1), np.float32), [1, 2, 3], "y").dtype == np.float32
    with pytest.raises(ValueError, match=r"^fit y: predicted has shape \(3, 2\) but actual has shape \(3,\)"):
        MeanSquaredError().check_target(template, [1.0, 2.0, 3.0], "fit y")
    with pytest.raises(ValueError, match=r"^fit y: labels must be in \[0, 2\) for a network with 2 outputs"):
        SparseCategoricalCrossEntropy().check_target(template, [0, 1, 2], "fit y")


def test_match_target_keeps_float32_and_never_truncates_into_an_integer_prediction():
    assert match_target(np.zeros(2, np.float32), np.array([1.5, 2.5]), "x").dtype == np.float32
    target = match_target(np.zeros(2, np.int64), [1.5, 2.5], "x")
    assert target.dtype == np.float64 and target.tolist() == [1.5, 2.5]


F32 = np.dtype(np.float32)


@pytest.mark.parametrize(
    ("loss", "target"),
    [
        (MeanSquaredError(), np.arange(6, dtype=np.float64).reshape(3, 2)),  # float64 target
        (MeanAbsoluteError(), np.arange(6, dtype=np.float64).reshape(3, 2)),
        (BinaryCrossEntropy(), np.array([[1, 0], [0, 1], [1, 1]])),
        (BinaryCrossEntropy(from_logits=True), np.array([[1, 0], [0, 1], [1, 1]])),
        (CategoricalCrossEntropy(), np.eye(2)[[0, 1, 1]]),
        (CategoricalCrossEntropy(from_logits=True), np.eye(2)[[0, 1, 1]]),
        (SparseCategoricalCrossEntropy(), np.array([0, 1, 1])),
        (SparseCategoricalCrossEntropy(from_logits=True), np.array([0, 1, 1])),
    ],
    ids=lambda value: repr(value) if isinstance(value, minidl.Loss) else "",
)
def test_every_loss_gradient_stays_float32_whatever_the_target_dtype(
    loss: minidl.Loss, target: np.ndarray
) -> None:
    predicted = np.array([[0.2, 0.8], [0.6, 0.4], [0.3, 0.7]], dtype=np.float32)
    value = loss.forward(predicted, target)
    assert isinstance(value, float) and np.isfinite(value)
    assert loss.backward().dtype == F32


def test_get_loss_names():
    assert isinstance(get_loss("mse"), MeanSquaredError)
    assert isinstance(get_loss("sparse_categorical_crossentropy"), SparseCategoricalCrossEntropy)
    with pytest.raises(ValueError, match="valid names: 'mean_squared_error'"):
        get_loss("categorical_cross_entropy")


@pytest.mark.parametrize("loss", [MeanSquaredError(), MeanAbsoluteError()])
def test_empty_arrays_in_a_loss_are_a_clear_error(loss):
    with pytest.raises(ValueError, match=r"predicted is empty"):
        loss.forward(np.zeros((0, 1)), np.zeros(0))


def test_an_empty_batch_in_the_sparse_cross_entropy_is_a_clear_error():
    # it once reached np.min of the empty probabilities: "zero-size array to reduction operation"
    loss = SparseCategoricalCrossEntropy()
    for forward in (loss.forward, loss.forward_from_logits):
        with pytest.raises(ValueError, match=r"^SparseCategoricalCrossEntropy: predicted is empty \(shape "
                                             r"\(0, 3\)\); expected at least one value$"):
            forward(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match=r"predicted is empty \(shape \(4, 0\)\)"):
        loss.forward(np.zeros((4, 0)), np.zeros(4, dtype=int))


@pytest.mark.parametrize(("loss", "target"), [
    (MeanSquaredError(), [[1.0, 0.0]]),
    (MeanAbsoluteError(), [[1.0, 0.0]]),
    (BinaryCrossEntropy(), [[1.0, 0.0]]),
    (BinaryCrossEntropy(from_logits=True), [[1.0, 0.0]]),
    (CategoricalCrossEntropy(), [[1.0, 0.0]]),
    (CategoricalCrossEntropy(from_logits=True), [[1.0, 0.0]]),
    (SparseCategoricalCrossEntropy(), [0]),
    (SparseCategoricalCrossEntropy(from_logits=True), [0]),
], ids=repr)
@pytest.mark.parametrize("dtype", [complex, object, str])
def test_predictions_that_are_not_real_numbers_are_a_clear_error(loss, target, dtype):
    # Complex predictions once gave a loss without the imaginary parts (and a ComplexWarning),
    # objects and strings numpy's errors from inside ("ufunc 'subtract' did not contain a loop").
    predicted = np.array([[0.5, 0.5]]).astype(dtype)
    expected = f"{type(loss).__name__}: predicted must hold real numbers; got dtype {predicted.dtype}"
    raises(TypeError, lambda: loss.forward(predicted, target), expected)
    if not isinstance(loss, (MeanSquaredError, MeanAbsoluteError)):  # the fused training path too
        raises(TypeError, lambda: loss.forward_from_logits(predicted, target), expected)


@pytest.mark.parametrize("loss", [MeanSquaredError(), BinaryCrossEntropy(), SparseCategoricalCrossEntropy()],
                         ids=repr)
def test_ragged_targets_are_a_clear_error(loss):
    # numpy's own "setting an array element with a sequence ... inhomogeneous shape" reached the user.
    name = "labels" if isinstance(loss, SparseCategoricalCrossEntropy) else "actual"
    raises(TypeError, lambda: loss.forward(np.full((2, 2), 0.5), [[0, 1], [1]]),
           f"{type(loss).__name__}: {name} must be a rectangular array of numbers; got ", "inhomogeneous")


# -- a user loss: the template (compute/gradient) or its own forward/backward ----------------------

class TemplateSquaredError(Loss):
    """The template: compute/gradient on a batch; forward checks the target and adds the batch axis."""

    def compute(self, predicted, target):
        self.error = predicted - target
        return float((self.error**2).sum())

    def gradient(self):
        return 2.0 * self.error


class OldStyleSquaredError(Loss):
    """The contract before the redesign: forward(predicted, actual) and backward() written by hand."""

    def forward(self, predicted, actual):
        self.error = predicted - np.asarray(actual, dtype=float)
        return float((self.error**2).sum())

    def backward(self):
        return 2.0 * self.error


class NeitherContract(Loss):
    """Writes none of the four methods."""


class HalfTemplate(Loss):
    """Writes compute but not gradient: half of a contract is not a contract."""

    def compute(self, predicted, target):
        return 0.0


class MixedHalves(Loss):
    """Overrides forward and writes gradient: a half of each contract."""

    def forward(self, predicted, actual):
        return 0.0

    def gradient(self):
        return np.zeros(1)


@pytest.mark.parametrize("make", [TemplateSquaredError, OldStyleSquaredError])
def test_both_contracts_give_the_loss_and_gradient_by_hand_through_forward_and_call(make):
    loss = make()
    assert loss.forward(np.array([[9.0], [3.0]]), np.array([[3.0], [3.0]])) == 36.0  # 6**2 + 0**2
    np.testing.assert_array_equal(loss.backward(), [[12.0], [0.0]])
    assert loss(np.array([[1.0], [5.0]]), np.array([[3.0], [3.0]])) == 8.0  # __call__ runs forward
    np.testing.assert_array_equal(loss.backward(), [[-4.0], [4.0]])


def test_the_template_gets_the_target_checks_and_the_old_style_keeps_its_own_forward():
    with pytest.raises(ValueError, match=r"TemplateSquaredError: predicted has shape \(3, 2\)"):
        TemplateSquaredError().forward(np.ones((3, 2)), np.ones(3))
    old = OldStyleSquaredError()
    assert old(np.ones((3, 2)), np.zeros((3, 2))) == 6.0  # its own forward runs, not Loss.forward
    assert old.backward().shape == (3, 2)


def test_an_old_style_loss_trains_a_network_and_passes_check_gradients():
    network = Network([Dense(1, 1, weight_init=[[0.5]], bias_init="zeros")])
    network.compile(loss=OldStyleSquaredError(), optimizer="sgd")
    x, y = np.array([[1.0], [2.0]]), np.array([[2.0], [4.0]])
    network.fit(x, y, epochs=20, batch_size=2, verbose=0)  # y = 2 x: the weight goes from 0.5 to ~2
    assert float(network.forward(np.array([[1.0]]))[0, 0]) == pytest.approx(2.0, abs=0.2)
    predicted, target = np.array([[0.3], [-1.2]]), np.array([[1.0], [0.5]])
    assert check_gradients(OldStyleSquaredError(), predicted, target=target).passed


@pytest.mark.parametrize("make", [NeitherContract, HalfTemplate, MixedHalves])
def test_a_loss_with_neither_contract_complete_is_refused_at_construction_naming_the_methods(make):
    expected = rf"^{make.__name__} needs compute\(\) and gradient\(\) \(or forward\(\) and backward\(\)\)$"
    with pytest.raises(TypeError, match=expected):
        make()


def test_a_subclass_of_a_built_in_loss_that_overrides_only_forward_is_still_complete():
    class LoggedMSE(MeanSquaredError):
        def forward(self, predicted, actual):
            self.calls = getattr(self, "calls", 0) + 1
            return super().forward(predicted, actual)

    loss = LoggedMSE()
    assert loss(np.array([[3.0]]), [1.0]) == 4.0 and loss.calls == 1
    np.testing.assert_array_equal(loss.backward(), [[4.0]])
    assert copy.deepcopy(loss).calls == 1  # copying (as check_gradients does) builds through __new__


def test_passing_the_loss_class_instead_of_an_object_says_how_to_make_one():
    network = minidl.Network([minidl.Dense(2, 1)])
    raises(TypeError, lambda: network.compile(optimizer="sgd", loss=minidl.BinaryCrossEntropy),
           "loss must be a name or a Loss object; got the class BinaryCrossEntropy; create one with "
           "BinaryCrossEntropy()")


class Float32MeanSquaredError(Loss):
    """A user's loss as one writes it: np.mean of a float32 array, an np.float32 (or a per-sample array)."""

    def __init__(self, per_sample=False):
        self.per_sample = per_sample

    def compute(self, predicted, target):
        self.error = predicted - target
        return np.mean(self.error**2, axis=1 if self.per_sample else None)

    def gradient(self):
        return 2.0 * self.error / self.error.size


@pytest.mark.parametrize("samples", [4, 1])
def test_forward_returns_a_python_float_and_refuses_a_compute_that_returns_an_array(samples):
    # np.float32 reached History (json.dumps failed), evaluate and train_step.
    predicted, target = np.ones((samples, 1), dtype=np.float32), np.zeros(samples)
    assert type(Float32MeanSquaredError().forward(predicted, target)) is float
    # numpy said only "only 0-dimensional arrays can be converted to Python scalars".
    raises(TypeError, lambda: Float32MeanSquaredError(per_sample=True).forward(predicted, target),
           "Float32MeanSquaredError.compute must return one number, the mean over the batch",
           f"got an array of shape ({samples},)")


@pytest.mark.parametrize(("loss", "predicted", "actual"), [
    (MeanSquaredError(), np.full((1000, 1), 10.0), np.zeros((1000, 1))),
    (MeanAbsoluteError(), np.full((10000, 1), 10.0), np.zeros((10000, 1))),
    (BinaryCrossEntropy(from_logits=True), np.full((2000, 1), 40.0), np.zeros((2000, 1))),
    (CategoricalCrossEntropy(from_logits=True), np.tile([20.0, 0.0], (5000, 1)),
     np.tile([0.0, 1.0], (5000, 1))),
    (SparseCategoricalCrossEntropy(from_logits=True), np.tile([20.0, 0.0], (5000, 1)), np.ones(5000, int)),
    (CategoricalCrossEntropy(), np.tile([0.999, 0.001], (20000, 1)), np.tile([0.0, 1.0], (20000, 1))),
    (SparseCategoricalCrossEntropy(), np.tile([0.999, 0.001], (20000, 1)), np.ones(20000, int)),
])
def test_float16_losses_are_summed_in_float32(loss, predicted, actual):
    # The float16 sum passed 65504 and became inf for a mean of 100 (MSE) or 20 (cross-entropy);
    # numpy's mean and PyTorch accumulate float16 in float32.
    half = predicted.astype(np.float16)
    expected = type(loss)(**loss.config()).forward(half.astype(np.float64), actual)
    assert loss.forward(half, actual) == pytest.approx(expected, rel=1e-3)


def test_forward_refuses_a_prediction_that_is_not_a_numpy_array():
    raises(TypeError, lambda: MeanSquaredError()([1.0, 2.0], [1.0, 2.0]),
           "MeanSquaredError: predicted must be a numpy array; got list")


class ReturnsNoNumber(Loss):
    def __init__(self, value):
        self.value = value

    def compute(self, predicted, target):
        return self.value

    def gradient(self):
        return np.zeros(1)


@pytest.mark.parametrize(("value", "shown"), [
    (None, "None"), ("low", "'low'"),
    # float() read these as numbers
    ("0.5", "'0.5'"), (True, "True"), (np.array("1e3"), "an array of shape ()"),
    (np.array(None), "an array of shape ()"),
])
def test_forward_refuses_a_compute_that_returns_no_number(value, shown):
    raises(TypeError, lambda: ReturnsNoNumber(value).forward(np.ones((2, 1)), np.ones(2)),
           "ReturnsNoNumber.compute must return one number, the mean over the batch", f"got {shown}")


class OwnForwardOnTheTemplate(Loss):
    """Writes forward/backward, but hands them on to the template, which needs compute/gradient."""

    def forward(self, predicted, actual):
        return super().forward(predicted, actual)

    def backward(self):
        return super().backward()


def test_the_template_without_compute_raises_not_implemented():
    loss = OwnForwardOnTheTemplate()
    with pytest.raises(NotImplementedError):
        loss.forward(np.ones((2, 1)), np.ones(2))
    loss._shape = (2, 1)  # as after a forward
    with pytest.raises(NotImplementedError):
        loss.backward()


class FusedCrossEntropy(Loss):
    """A user's categorical cross-entropy fused with Softmax: it writes forward_from_logits only."""

    def __init__(self):
        self.seen = []

    def compute(self, predicted, target):
        self.grad = -target / predicted / len(target)
        return float(-np.mean(np.sum(target * np.log(predicted), axis=1)))

    def gradient(self):
        return self.grad

    def fuses_with(self, layer):
        return isinstance(layer, Softmax)

    def forward_from_logits(self, logits, actual, probabilities=None):
        self.seen.append(logits.copy())
        self._shape, target = logits.shape, np.asarray(actual, dtype=np.float64)
        self.grad = (probabilities - target) / len(target)  # dL/dlogits of softmax and cross-entropy
        return float(-np.mean(np.sum(target * np.log(probabilities), axis=1)))


def test_fit_hands_a_fused_user_loss_the_logits_through_the_default_logits_loss():
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    network = Network([Dense(2, 2, seed=0), Softmax()])
    logits = x @ network[0].weight.value + network[0].bias.value
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(probabilities[[0, 1, 2], [0, 1, 0]]))
    loss = FusedCrossEntropy()
    network.compile(optimizer=minidl.SGD(0.0), loss=loss)
    history = network.fit(x, y, epochs=1, batch_size=3, shuffle=False, verbose=0)
    assert len(loss.seen) == 1
    np.testing.assert_allclose(loss.seen[0], logits, rtol=1e-15)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("value", [np.float32(0.25), np.int64(0), 0, np.array(0.25), Fraction(1, 4)])
def test_forward_takes_any_kind_of_number_from_compute(value):
    assert ReturnsNoNumber(value).forward(np.ones((2, 1)), np.ones(2)) == float(value)


class TransposedGradient(Loss):
    def compute(self, predicted, target):
        self.error = predicted - target
        return float(np.mean(self.error**2))

    def gradient(self):
        return (2.0 * self.error / self.error.size).T  # (2, N) for (N, 2) predictions


@pytest.mark.parametrize("predicted", [np.zeros((3, 2)), np.zeros((2, 3))])
def test_backward_refuses_a_gradient_not_shaped_like_the_predictions(predicted):
    # Any gradient of the right size was reshaped to the predictions': a transposed one trained wrong
    loss = TransposedGradient()
    loss.forward(predicted, np.ones_like(predicted))
    raises(ValueError, loss.backward, "TransposedGradient.gradient returned dL/dp of shape "
           f"{predicted.shape[::-1]} for predictions of shape {predicted.shape}; it must be shaped like the "
           "predictions")


@pytest.mark.parametrize("predicted", [np.zeros((4, 1)), np.zeros((1, 3)), np.zeros(3)])
def test_backward_takes_a_gradient_that_differs_only_by_axes_of_one(predicted):
    # (N,) for (N, 1) (a loss written on p.ravel()), or a sample's (1, k) as (k, 1): the same order
    loss = TransposedGradient()
    loss.forward(predicted, np.ones_like(predicted))
    grad = loss.backward()
    assert grad.shape == predicted.shape
    np.testing.assert_array_equal(grad, np.full(predicted.shape, -2.0 / predicted.size))
