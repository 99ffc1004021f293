"""check_gradients (minidl/gradcheck/check.py): it passes every correct built-in, names the
wrong gradient of broken layers, and judges gradients by the network's contract."""

from __future__ import annotations

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
from tests.gradcheck.broken import (
    BROKEN,
    BiasNotSummedOverBatch,
    ForgottenBiasGradient,
    IgnoresUpstreamGradient,
    X,
    away_from_zero,
    normal,
)

FAST = settings(max_examples=25, deadline=None)
shapes = st.tuples(st.integers(1, 5), st.integers(1, 5))
seeds = st.integers(0, 2**32 - 1)


# -- broken layers: each has exactly one classic mistake -----------------------------------
@pytest.mark.parametrize(("kind", "wrong"), BROKEN, ids=[kind.__name__ for kind, _ in BROKEN])
def test_broken_layer_fails_naming_the_wrong_gradient(kind, wrong):
    report = check_gradients(kind(), X)
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


# -- the gradient contract: judged as a network runs backward (Layer.overwrites_gradients) ----
class Accumulates(ForgottenBiasGradient):
    """PyTorch's habit: ``+=`` into grad (a layer that keeps the default overwrites_gradients = False)."""

    def backward(self, grad_y):
        self.bias.grad += grad_y.sum(axis=0)
        return super().backward(grad_y)


class AccumulatesButDeclaresOverwriting(Accumulates):
    overwrites_gradients = True


def test_accumulating_layer_passes_because_the_network_clears_its_gradients_first():
    # The contract changed in issue 10 (item 8): this test used to assert that `+=` fails.
    # A layer with overwrites_gradients = False is cleared (zero_grad()) before backward,
    # by Network.backward and fit as by the check, so `+=` trains right and passes.
    report = check_gradients(Accumulates(), X)
    assert report.passed, report
    assert check_gradients(Network([Dense(3, 3, seed=0), Accumulates(), Tanh()]), X).passed


def test_accumulating_into_a_layer_that_declares_it_overwrites_is_caught():
    # Promising overwrites_gradients = True means nobody clears the gradient: `+=` would
    # add to the last step's. The check fills the gradients with NaN, so it shows.
    report = check_gradients(AccumulatesButDeclaresOverwriting(), X)
    assert report.failed_names == ["bias"]
    assert "still the NaN" in report["bias"].problem
    net_report = check_gradients(Network([Dense(3, 3, seed=0), AccumulatesButDeclaresOverwriting()]), X)
    assert net_report.failed_names == ["accumulatesbutdeclaresoverwriting.bias"]


def test_gradient_never_written_is_caught_in_both_kinds_of_layer():
    class ForgetsAndDeclaresOverwriting(ForgottenBiasGradient):
        overwrites_gradients = True

    cleared = check_gradients(ForgottenBiasGradient(), X)["bias"]
    filled = check_gradients(ForgetsAndDeclaresOverwriting(), X)["bias"]
    assert not cleared.passed and cleared.backward == 0.0 and "all 0" in cleared.problem
    assert not filled.passed and np.isnan(filled.backward) and "never wrote" in filled.problem


def test_backward_sees_cleared_or_nan_gradients_as_the_contract_says():
    seen = {}

    class Records(ForgottenBiasGradient):
        def backward(self, grad_y):
            seen[type(self).overwrites_gradients] = (self.weight.grad.copy(), self.bias.grad.copy())
            self.bias.grad[...] = grad_y.sum(axis=0)
            return super().backward(grad_y)

    class RecordsAndOverwrites(Records):
        overwrites_gradients = True

    for kind in (Records, RecordsAndOverwrites):
        layer = kind()
        layer.weight.grad[...] = 7.0  # stale gradients from an earlier step
        layer.bias.grad[...] = 7.0
        assert check_gradients(layer, X).passed
    assert all((grad == 0.0).all() for grad in seen[False])
    assert all(np.isnan(grad).all() for grad in seen[True])


def test_a_never_written_gradient_that_truly_is_zero_passes_in_a_clearing_layer():
    # The documented limit of clearing: a gradient left at 0 is right when the parameter
    # does not affect the output (here `unused`), so the check cannot call it a mistake.
    class Unused(ForgottenBiasGradient):
        def __init__(self):
            super().__init__()
            self.unused = Parameter(np.ones(2), name="unused")

        def backward(self, grad_y):
            self.bias.grad[...] = grad_y.sum(axis=0)
            return super().backward(grad_y)

    report = check_gradients(Unused(), X)
    assert report.passed and report["unused"].backward == 0.0 and report["unused"].problem == ""


# -- settings -------------------------------------------------------------------------------
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


def test_atol_is_raised_to_the_rounding_noise_of_large_outputs():
    report = check_gradients(Dense(3, 3, seed=0), 1000.0 * X)
    assert report.passed and report.atol > report.requested_atol == 1e-6
    assert "atol raised from 1e-06" in str(report)


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


def test_integer_input_is_differentiated_as_float():
    # DLFS#51: perturbing an integer array by 1e-6 changes nothing; the check converts it.
    report = check_gradients(Dense(2, 2, seed=0), np.array([[1, 2], [3, 4]]))
    assert report.passed and report["input"].max_abs_error < 1e-8


def test_network_on_a_single_sample():
    net = Network([Dense(3, 4, seed=0), Sigmoid(), Dense(4, 1, seed=1)])
    report = check_gradients(net, X[0])
    assert report.passed and report["input"].shape == (3,)


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

        def forward(self, x):
            self.seen = x
            return super().forward(x)

        def backward(self, grad_y):
            grad_y *= self.derivative(self.seen)  # DLFS's Relu.backward mistake
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


def test_forward_that_returns_no_array_or_a_loss_that_returns_no_float_is_refused():
    class ReturnsList(Layer):
        def forward(self, x):
            return x.tolist()

        def backward(self, grad_y):
            return grad_y

    class ArrayLoss(MeanSquaredError):
        def forward(self, predicted, actual):
            return np.asarray(predicted) * 0.0

    with pytest.raises(TypeError, match="'returnslist': forward must return a numpy array; got list"):
        check_gradients(ReturnsList(), X)
    with pytest.raises(TypeError, match="ArrayLoss: forward must return a float; got ndarray"):
        check_gradients(ArrayLoss(), X, X)


def test_forward_that_leaves_float64_fails_the_check():
    class Float32(Layer):
        def forward(self, x):
            return x.astype(np.float32)

        def backward(self, grad_y):
            return grad_y

    report = check_gradients(Float32(), X)
    assert not report.passed  # the float32 rounding spoils the finite differences too
    assert report.problems == [report.problems[0]] and "forward returned dtype float32" in report.problems[0]


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
