"""check_gradients (minidl/gradcheck/check.py): it names the wrong gradient of broken layers and
judges gradients by the network's contract (every correct built-in passing: test_check_properties.py)."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import (
    Activation,
    Dense,
    GradientCheckError,
    Layer,
    MeanSquaredError,
    Network,
    Parameter,
    Sigmoid,
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


def test_accumulating_layer_passes_because_the_network_clears_its_gradients_first():
    # The contract changed in issue 10 (item 8): this test used to assert that `+=` fails.
    # A layer with overwrites_gradients = False is cleared (zero_grad()) before backward,
    # by Network.backward and fit as by the check, so `+=` trains right and passes.
    report = check_gradients(Accumulates(), X)
    assert report.passed, report
    assert check_gradients(Network([Dense(3, 3, seed=0), Accumulates(), Tanh()]), X).passed


class AccumulatesButDeclaresOverwriting(Accumulates):
    overwrites_gradients = True


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


class _LazyScale(minidl.Layer):
    """A learner's mistake: the parameter is created in the first forward."""

    def __init__(self) -> None:
        super().__init__()
        self.w: minidl.Parameter | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.w is None:
            self.w = minidl.Parameter(np.ones(x.shape[-1]), name="w")
        self.x = x
        return x * self.w.value

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        assert self.w is not None
        self.w.grad[...] = (grad_y * self.x).sum(axis=0)
        return grad_y * self.w.value


def test_check_gradients_fails_a_parameter_created_in_forward() -> None:
    x = np.random.default_rng(0).normal(size=(4, 3))
    report = minidl.check_gradients(_LazyScale(), x)
    assert not report.passed
    assert any("'w'" in problem and "__init__" in problem for problem in report.problems)


class _ListScale(minidl.Layer):
    """A learner's mistake: the parameters are kept in a list, which parameters() does not see."""

    def __init__(self) -> None:
        super().__init__()
        self.weights = [minidl.Parameter(np.ones(3), name="w")]

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x * self.weights[0].value

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        self.weights[0].grad[...] = (grad_y * self.x).sum(axis=0)
        return grad_y * self.weights[0].value


def test_check_gradients_fails_parameters_hidden_in_a_container() -> None:
    x = np.random.default_rng(0).normal(size=(4, 3))
    report = minidl.check_gradients(_ListScale(), x)
    assert not report.passed
    assert any("'weights'" in problem and "list" in problem for problem in report.problems)
    network_report = minidl.check_gradients(minidl.Network([minidl.Dense(3, 3, seed=0), _ListScale()]), x)
    assert not network_report.passed
