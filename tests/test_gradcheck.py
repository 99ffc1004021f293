"""check_gradients: it passes every correct built-in and names the wrong gradient of broken layers."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl
from minidl import (
    Activation,
    BatchNorm,
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    Dense,
    Dropout,
    GradientCheckError,
    GradientCheckReport,
    Identity,
    Layer,
    LeakyReLU,
    MeanAbsoluteError,
    MeanSquaredError,
    Network,
    Parameter,
    ReLU,
    Sigmoid,
    Softmax,
    SparseCategoricalCrossEntropy,
    Tanh,
    check_gradients,
)

FAST = settings(max_examples=25, deadline=None)


def normal(seed: int, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, scale, size=shape)


def away_from_zero(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """Values in +-[0.05, 3]: no kink of ReLU/LeakyReLU within eps of any of them."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 3.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


shapes = st.tuples(st.integers(1, 5), st.integers(1, 5))
seeds = st.integers(0, 2**32 - 1)


# -- broken layers: each has exactly one classic mistake -----------------------------------
class SquareDense(Dense):
    """A correct square Dense, to derive broken variants from."""

    def __init__(self, size: int = 3) -> None:
        super().__init__(size, size, seed=1, bias_init=[0.1, -0.2, 0.3][:size])


class MissingTranspose(SquareDense):
    def backward(self, grad_y):
        self._parameter_gradients(grad_y)
        return grad_y @ self.weight.value  # should be weight.T


class WeightGradTransposed(SquareDense):
    def backward(self, grad_y):
        grad_x = super().backward(grad_y)
        self.weight.grad[...] = grad_y.T @ self._x  # should be x.T @ grad_y
        return grad_x


class ForgottenBiasGradient(Layer):
    """y = x @ W + b, written from scratch, with no line for dL/db."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = Parameter(normal(3, (3, 2)), name="weight")
        self.bias = Parameter(np.array([0.5, -0.5]), name="bias")

    def forward(self, x):
        self.x = x
        return x @ self.weight.value + self.bias.value

    def backward(self, grad_y):
        self.weight.grad[...] = self.x.T @ grad_y
        return grad_y @ self.weight.value.T


class ZeroedBiasGradient(ForgottenBiasGradient):
    def backward(self, grad_y):
        self.bias.grad[...] = 0.0
        return super().backward(grad_y)


class BiasNotSummedOverBatch(ForgottenBiasGradient):
    def backward(self, grad_y):
        self.bias.grad[...] = grad_y.mean(axis=0)  # should be the sum over the batch
        return super().backward(grad_y)


class BiasFromFirstSampleOnly(ForgottenBiasGradient):
    def backward(self, grad_y):
        self.bias.grad[...] = grad_y[0]
        return super().backward(grad_y)


class WeightSignError(ForgottenBiasGradient):
    def backward(self, grad_y):
        self.bias.grad[...] = grad_y.sum(axis=0)
        grad_x = super().backward(grad_y)
        self.weight.grad[...] = -(self.x.T @ grad_y)
        return grad_x


class SigmoidDerivativeAtOutput(Activation):
    """The classic slip: ``s * (1 - s)`` written with the input in place of ``s``."""

    def function(self, x):
        return 1.0 / (1.0 + np.exp(-x))

    def derivative(self, x):
        return x * (1.0 - x)  # the formula in terms of the output, applied to the input


class TanhDerivativeAtOutput(Activation):
    def function(self, x):
        return np.tanh(x)

    def derivative(self, x):
        return 1.0 - x**2


class IgnoresUpstreamGradient(Activation):
    """Right only when grad_y is all ones: it returns f'(x) instead of grad_y * f'(x)."""

    def function(self, x):
        return np.tanh(x)

    def derivative(self, x):
        return 1.0 - np.tanh(x) ** 2

    def backward(self, grad_y):
        return self.derivative(self._x)


class DiagonalSoftmax(Softmax):
    """Softmax with backward p * (1 - p) * g, ignoring the off-diagonal Jacobian terms."""

    def backward(self, grad_y):
        p = self._p
        return grad_y * p * (1.0 - p)


X = normal(0, (4, 3))  # the same draws as default_rng(0): the check must not be fooled


@pytest.mark.parametrize(
    ("layer", "wrong"),
    [
        (MissingTranspose(), ["input"]),
        (WeightGradTransposed(), ["weight"]),
        (ForgottenBiasGradient(), ["bias"]),
        (ZeroedBiasGradient(), ["bias"]),
        (BiasNotSummedOverBatch(), ["bias"]),
        (BiasFromFirstSampleOnly(), ["bias"]),
        (WeightSignError(), ["weight"]),
        (SigmoidDerivativeAtOutput(), ["input"]),
        (TanhDerivativeAtOutput(), ["input"]),
        (IgnoresUpstreamGradient(), ["input"]),
        (DiagonalSoftmax(), ["input"]),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Layer) else "",
)
def test_broken_layer_fails_naming_the_wrong_gradient(layer, wrong):
    report = check_gradients(layer, X)
    assert not report.passed
    assert report.failed_names == wrong
    assert report.max_relative_error > 1e-2
    table = str(report)
    for name in wrong:
        assert any(line.lstrip().startswith(name) and line.rstrip().endswith("WRONG")
                   for line in table.splitlines()), table
    with pytest.raises(GradientCheckError) as caught:
        report.raise_if_failed()
    assert str(caught.value) == table


def test_forgotten_gradient_is_reported_as_never_written():
    report = check_gradients(ForgottenBiasGradient(), X)
    assert "never wrote" in report["bias"].problem
    assert "never wrote" in str(report)


def test_broken_layer_inside_a_network_is_named_with_its_layer():
    net = Network([Dense(3, 3, seed=0), Tanh(), BiasNotSummedOverBatch(), Sigmoid()])
    report = check_gradients(net, X)
    assert report.failed_names == ["biasnotsummedoverbatch.bias"]


def test_all_ones_upstream_would_hide_the_mistake_but_the_random_one_does_not():
    layer = IgnoresUpstreamGradient()
    layer.forward(X)
    ones_answer = layer.backward(np.ones_like(X))
    np.testing.assert_allclose(ones_answer, 1.0 - np.tanh(X) ** 2)  # right for G = 1 ...
    assert not check_gradients(layer, X).passed                     # ... caught anyway


# -- the report -------------------------------------------------------------------------------
def test_report_rows_shapes_and_counts_for_dense():
    report = check_gradients(Dense(3, 2, seed=0), X)
    assert isinstance(report, GradientCheckReport)
    assert report.passed and bool(report)
    assert [(row.name, row.shape, row.checked) for row in report.rows] == [
        ("input", (4, 3), 12), ("weight", (3, 2), 6), ("bias", (2,), 2)]
    assert report.max_relative_error == max(row.max_rel_error for row in report.rows)
    assert report.max_relative_error < 1e-7
    assert report.failed_names == [] and report.problems == []
    for row in report.rows:
        assert row.worst_index is not None and len(row.worst_index) == len(row.shape)
        assert row.max_abs_error >= abs(row.backward - row.numerical)


def test_report_table_lists_every_gradient_and_the_verdict():
    table = str(check_gradients(Dense(3, 2, seed=0), X))
    lines = table.splitlines()
    assert lines[0] == "Gradient check of Dense 'dense': passed"
    header = lines[2].split()
    assert header[:2] == ["gradient", "shape"] and header[-1] == "result"
    body = [line.split()[0] for line in lines[4:]]
    assert body == ["input", "weight", "bias"]
    assert all(line.rstrip().endswith("ok") for line in lines[4:])


def test_raise_on_failure_flag_and_passing_report_chains():
    with pytest.raises(GradientCheckError, match="bias") as caught:
        check_gradients(BiasNotSummedOverBatch(), X, raise_on_failure=True)
    assert isinstance(caught.value, AssertionError)
    assert caught.value.report.failed_names == ["bias"]
    report = check_gradients(Dense(3, 2, seed=0), X, raise_on_failure=True)
    assert report.raise_if_failed() is report


def test_report_indexing_by_name():
    report = check_gradients(Dense(3, 2, seed=0), X)
    assert report["weight"].shape == (3, 2)
    with pytest.raises(KeyError, match="input"):
        report["nope"]


def test_same_seed_same_report_other_seed_other_upstream():
    first = check_gradients(Tanh(), X, seed=5)
    again = check_gradients(Tanh(), X, seed=5)
    other = check_gradients(Tanh(), X, seed=6)
    assert first.rows == again.rows
    assert first.rows != other.rows


def test_max_entries_samples_and_reports_how_many_were_checked():
    report = check_gradients(Dense(6, 5, seed=0), normal(1, (4, 6)), max_entries=7)
    assert [row.checked for row in report.rows] == [7, 7, 5]
    assert "7/24" in str(report) and "7/30" in str(report)
    with pytest.raises(ValueError, match="max_entries"):
        check_gradients(Tanh(), X, max_entries=0)


def test_tolerances_decide():
    # A 1% error passes a loose check and fails the default one.
    class SlightlyOff(Activation):
        def function(self, x):
            return np.tanh(x)

        def derivative(self, x):
            return 1.01 * (1.0 - np.tanh(x) ** 2)

    assert not check_gradients(SlightlyOff(), X).passed
    assert check_gradients(SlightlyOff(), X, rtol=0.02).passed


@pytest.mark.parametrize("bad", [{"eps": 0.0}, {"eps": -1e-6}, {"rtol": 0.0}, {"atol": -1.0}, {"seed": -1}])
def test_bad_settings_are_rejected(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        check_gradients(Tanh(), X, **bad)


def test_wrong_objects_and_targets_are_rejected():
    with pytest.raises(TypeError, match="Layer, Network or Loss"):
        check_gradients(np.tanh, X)
    with pytest.raises(TypeError, match="needs a target"):
        check_gradients(MeanSquaredError(), X)
    with pytest.raises(TypeError, match="only used for a Loss"):
        check_gradients(Tanh(), X, target=X)


# -- float64, and the object is left untouched ------------------------------------------------
def test_float32_layer_is_checked_in_float64_and_left_float32():
    layer = Dense(3, 2, seed=0, dtype=np.float32)
    weight_before = layer.weight.value.copy()
    report = check_gradients(layer, X.astype(np.float32))
    assert report.passed and report.max_relative_error < 1e-7  # float32 would give ~1e-3
    assert layer.weight.dtype == np.float32 and layer.weight.grad.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.value, weight_before)


def test_float32_network_is_checked_in_float64_and_stays_float32():
    net = Network([Dense(3, 4, seed=0, dtype=np.float32), BatchNorm(4, dtype=np.float32), Tanh(),
                   Dense(4, 2, seed=1, dtype=np.float32)])
    report = check_gradients(net, X)
    assert report.passed and report.max_relative_error < 1e-6
    assert {p.dtype for p in net.parameters()} == {np.dtype(np.float32)}
    assert net[1].running_mean.dtype == np.float32
    assert net.forward(X).dtype == np.float32


def test_user_layer_that_casts_to_its_own_dtype_is_checked_in_float64():
    class Cubic(Activation):
        def __init__(self, dtype):
            super().__init__()
            self.dtype = dtype  # a type or a dtype, as users write it

        def function(self, x):
            return (x**3).astype(self.dtype)

        def derivative(self, x):
            return (3 * x**2).astype(self.dtype)

    for dtype in (np.float32, np.dtype(np.float32)):
        layer = Cubic(dtype)
        report = check_gradients(layer, X)
        assert report.passed and report.max_relative_error < 1e-7
        assert layer.dtype is dtype


def test_network_on_a_single_sample():
    net = Network([Dense(3, 4, seed=0), Sigmoid(), Dense(4, 2, seed=1)])
    report = check_gradients(net, X[0])
    assert report.passed and report["input"].shape == (3,)


def test_user_layer_that_zeroes_its_grads_in_forward_is_still_judged_on_its_backward():
    class ClearsInForward(ForgottenBiasGradient):
        def forward(self, x):
            self.zero_grad()
            return super().forward(x)

        def backward(self, grad_y):
            self.bias.grad[...] = grad_y.sum(axis=0)
            return super().backward(grad_y)

    assert check_gradients(ClearsInForward(), X).passed


def test_object_is_unchanged_parameters_grads_caches_state_and_rng():
    net = Network([Dense(3, 4, seed=0), BatchNorm(4), Dropout(0.5, seed=2), Dense(4, 2, seed=1)])
    net.forward(normal(9, (5, 3)))
    net.backward(normal(10, (5, 2)))
    snapshot = copy.deepcopy(net)
    x = X.copy()
    check_gradients(net, x)
    np.testing.assert_array_equal(x, X)
    for layer, before in zip(net.layers, snapshot.layers, strict=True):
        for key, value in vars(before).items():
            now = getattr(layer, key)
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(now, value)
            elif isinstance(value, Parameter):
                np.testing.assert_array_equal(now.value, value.value)
                np.testing.assert_array_equal(now.grad, value.grad)
    # The Dropout generator did not move: the next masks are the ones it would have drawn.
    np.testing.assert_array_equal(net[2].forward(np.ones((3, 4))), snapshot[2].forward(np.ones((3, 4))))


def test_global_numpy_random_state_is_restored():
    class NoisyIdentity(Layer):
        def forward(self, x):
            self.noise = np.random.rand(*x.shape)  # noqa: NPY002 (legacy global state on purpose)
            return x + self.noise

        def backward(self, grad_y):
            return grad_y

    np.random.seed(3)  # noqa: NPY002
    expected = np.random.rand(2)  # noqa: NPY002
    np.random.seed(3)  # noqa: NPY002
    report = check_gradients(NoisyIdentity(), X)
    assert report.passed  # the noise is the same in every forward of the check
    np.testing.assert_array_equal(np.random.rand(2), expected)  # noqa: NPY002


def test_randomness_the_check_cannot_repeat_is_reported():
    class FreshNoise(Layer):
        def forward(self, x):
            return x + np.random.default_rng().normal(size=x.shape)  # a new generator every call

        def backward(self, grad_y):
            return grad_y

    report = check_gradients(FreshNoise(), X)
    assert not report.passed
    assert any("different outputs for the same input" in problem for problem in report.problems)


def test_integer_input_is_differentiated_as_float():
    # DLFS#51: perturbing an integer array by 1e-6 changes nothing; the check converts it.
    report = check_gradients(Dense(2, 2, seed=0), np.array([[1, 2], [3, 4]]))
    assert report.passed and report["input"].max_abs_error < 1e-8


# -- other contract violations the check points out -----------------------------------------
def test_backward_that_returns_nothing():
    class NoReturn(Activation):
        def function(self, x):
            return 2.0 * x

        def derivative(self, x):
            return np.full_like(x, 2.0)

        def backward(self, grad_y):
            grad_y * 2.0

    report = check_gradients(NoReturn(), X)
    assert report.failed_names == ["input"]
    assert "return grad_x" in report["input"].problem


def test_backward_with_wrong_shape():
    class SumsOverBatch(Activation):
        def function(self, x):
            return 2.0 * x

        def derivative(self, x):
            return np.full_like(x, 2.0)

        def backward(self, grad_y):
            return (2.0 * grad_y).sum(axis=0)

    report = check_gradients(SumsOverBatch(), X)
    assert report.failed_names == ["input"]
    assert "(3,)" in report["input"].problem and "(4, 3)" in report["input"].problem


def test_mutating_grad_y_or_x_in_place_fails_the_check():
    class ClobbersGradY(Activation):
        def function(self, x):
            return np.maximum(x, 0.0)

        def derivative(self, x):
            return (x > 0).astype(x.dtype)

        def backward(self, grad_y):
            grad_y *= self.derivative(self._x)  # DLFS's Relu.backward mistake
            return grad_y

    report = check_gradients(ClobbersGradY(), away_from_zero(1, (4, 3)))
    assert not report.passed and report.failed_names == []
    assert "grad_y in place" in report.problems[0]

    class ClobbersX(Activation):
        def function(self, x):
            np.maximum(x, 0.0, out=x)
            return x

        def derivative(self, x):
            return (x > 0).astype(x.dtype)

    report = check_gradients(ClobbersX(), away_from_zero(2, (4, 3)))
    assert not report.passed
    assert "changed its input x in place" in report.problems[0]


def test_gradients_accumulated_instead_of_overwritten_are_caught():
    class Accumulates(ForgottenBiasGradient):
        def backward(self, grad_y):
            self.bias.grad += grad_y.sum(axis=0)
            return super().backward(grad_y)

    report = check_gradients(Accumulates(), X)
    assert report.failed_names == ["bias"]


def test_parameter_rows_use_attribute_names_even_with_default_parameter_names():
    class Scale(Layer):
        def __init__(self):
            super().__init__()
            self.a = Parameter(np.array([1.5, -2.0, 0.5]))
            self.c = Parameter(np.array([0.1, 0.2, 0.3]))

        def forward(self, x):
            self.x = x
            return x * self.a.value + self.c.value

        def backward(self, grad_y):
            self.a.grad[...] = (grad_y * self.x).sum(axis=0)
            self.c.grad[...] = grad_y.sum(axis=0)
            return grad_y * self.a.value

    report = check_gradients(Scale(), X)
    assert report.passed
    assert [row.name for row in report.rows] == ["input", "a", "c"]


# -- every built-in passes over random shapes ------------------------------------------------
@FAST
@given(shape=shapes, out=st.integers(1, 5), use_bias=st.booleans(), seed=seeds,
       dtype=st.sampled_from([np.float64, np.float32]))
def test_dense_passes(shape, out, use_bias, seed, dtype):
    layer = Dense(shape[1], out, use_bias=use_bias, seed=seed, dtype=dtype)
    check_gradients(layer, normal(seed, shape).astype(dtype), seed=seed).raise_if_failed()


@FAST
@given(shape=shapes, seed=seeds)
def test_dense_passes_on_a_single_sample(shape, seed):
    # Layers take batches; a single sample enters through the Network, which adds the batch axis.
    net = Network([Dense(shape[1], shape[0], seed=seed)])
    check_gradients(net, normal(seed, (shape[1],))).raise_if_failed()


@FAST
@given(shape=shapes, seed=seeds, kind=st.sampled_from([Sigmoid, Tanh, Identity, Softmax]))
def test_smooth_activations_and_softmax_pass(shape, seed, kind):
    check_gradients(kind(), normal(seed, shape, scale=3.0), seed=seed).raise_if_failed()


@FAST
@given(shape=shapes, seed=seeds, layer=st.sampled_from([ReLU(), LeakyReLU(0.1), LeakyReLU(0.0)]))
def test_kinked_activations_pass_away_from_the_kink(shape, seed, layer):
    check_gradients(layer, away_from_zero(seed, shape), seed=seed).raise_if_failed()


@FAST
@given(shape=shapes, seed=seeds, rate=st.sampled_from([0.0, 0.3, 0.8]), training=st.booleans())
def test_dropout_passes_in_both_modes(shape, seed, rate, training):
    layer = Dropout(rate, seed=seed)
    layer.train(training)
    check_gradients(layer, normal(seed, shape), seed=seed).raise_if_failed()


@FAST
@given(batch=st.integers(2, 6), features=st.integers(1, 4), seed=seeds, training=st.booleans())
def test_batchnorm_passes_in_both_modes(batch, features, seed, training):
    layer = BatchNorm(features)
    rng = np.random.default_rng(seed)
    layer.gamma.value[...] = rng.uniform(0.5, 2.0, features) * rng.choice([-1, 1], features)
    layer.beta.value[...] = rng.normal(size=features)
    layer.running_mean[...] = rng.normal(size=features)
    layer.running_var[...] = rng.uniform(0.5, 2.0, features)
    layer.train(training)
    # Rows from a spread-out normal: no column with (nearly) equal values, whose variance
    # would be ~0 and its normalisation ill-conditioned.
    x = normal(seed, (batch, features), scale=2.0) + np.arange(batch)[:, None]
    check_gradients(layer, x, seed=seed).raise_if_failed()


@FAST
@given(shape=shapes, seed=seeds)
def test_mean_squared_error_passes(shape, seed):
    predicted, actual = normal(seed, shape), normal(seed + 1, shape)
    check_gradients(MeanSquaredError(), predicted, actual, seed=seed).raise_if_failed()


@FAST
@given(shape=shapes, seed=seeds)
def test_mean_absolute_error_passes_away_from_zero_error(shape, seed):
    actual = normal(seed, shape)
    predicted = actual + away_from_zero(seed + 1, shape)
    check_gradients(MeanAbsoluteError(), predicted, actual, seed=seed).raise_if_failed()


@FAST
@given(shape=shapes, seed=seeds)
def test_binary_cross_entropy_passes_on_probabilities_and_on_logits(shape, seed):
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 2, size=shape).astype(float)
    probabilities = rng.uniform(0.05, 0.95, size=shape)  # away from the clipping at epsilon
    check_gradients(BinaryCrossEntropy(), probabilities, target, seed=seed).raise_if_failed()
    logits = rng.normal(0.0, 4.0, size=shape)
    check_gradients(BinaryCrossEntropy(from_logits=True), logits, target, seed=seed).raise_if_failed()


@FAST
@given(shape=st.tuples(st.integers(1, 5), st.integers(2, 5)), seed=seeds)
def test_categorical_cross_entropies_pass_on_probabilities_and_on_logits(shape, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, shape[1], size=shape[0])
    one_hot = np.eye(shape[1])[labels]
    probabilities = Softmax().forward(rng.normal(size=shape))
    logits = rng.normal(0.0, 4.0, size=shape)
    for loss, target in [(CategoricalCrossEntropy(), one_hot), (SparseCategoricalCrossEntropy(), labels)]:
        check_gradients(loss, probabilities, target, seed=seed).raise_if_failed()
    for loss, target in [(CategoricalCrossEntropy(from_logits=True), one_hot),
                         (SparseCategoricalCrossEntropy(from_logits=True), labels)]:
        check_gradients(loss, logits, target, seed=seed).raise_if_failed()


@FAST
@given(batch=st.integers(2, 5), sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4), seed=seeds)
def test_networks_of_built_ins_pass(batch, sizes, seed):
    layers: list[Layer] = []
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(Dense(fan_in, fan_out, seed=seed + index))
        layers.append([Tanh(), Sigmoid(), BatchNorm(fan_out), Dropout(0.4, seed=seed)][index % 4])
    layers.append(Softmax())
    net = Network(layers)
    check_gradients(net, normal(seed, (batch, sizes[0])) + np.arange(batch)[:, None],
                    seed=seed).raise_if_failed()


def test_every_public_layer_class_is_covered_here():
    covered = {Dense, Sigmoid, Tanh, Identity, Softmax, ReLU, LeakyReLU, Dropout, BatchNorm}
    public_layers = {
        value for value in vars(minidl).values()
        if isinstance(value, type) and issubclass(value, Layer) and value not in (Layer, Activation)
    }
    assert public_layers <= covered, f"add a gradient check for {public_layers - covered}"


def test_every_public_loss_class_is_covered_here():
    covered = {MeanSquaredError, MeanAbsoluteError, BinaryCrossEntropy, CategoricalCrossEntropy,
               SparseCategoricalCrossEntropy}
    public_losses = {
        value for value in vars(minidl).values()
        if isinstance(value, type) and issubclass(value, minidl.Loss) and value is not minidl.Loss
    }
    assert public_losses <= covered, f"add a gradient check for {public_losses - covered}"
