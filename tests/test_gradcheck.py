"""check_gradients (minidl/gradcheck.py): it names the wrong gradient of broken layers, judges
gradients by the network's contract, works on a float64 copy that leaves the object untouched
(randomness rewound before every forward, parameters named and none overlooked), and returns a
report (rows, table, verdict, raising). Every correct built-in passing: test_gradcheck_properties.py."""

from __future__ import annotations

import copy
import math
import threading

import numpy as np
import pytest

import minidl
from minidl import (
    Activation,
    BatchNorm,
    Dense,
    Dropout,
    GradientCheckError,
    GradientCheckReport,
    Layer,
    MeanSquaredError,
    Network,
    Parameter,
    ReLU,
    Sigmoid,
    Tanh,
    check_gradients,
)
from minidl.gradcheck import GradientCheckRow
from tests.gradcheck_broken import (
    BROKEN,
    BiasNotSummedOverBatch,
    ForgottenBiasGradient,
    HelperScale,
    IgnoresUpstreamGradient,
    InnerDense,
    LazyScale,
    ListScale,
    X,
    away_from_zero,
    normal,
)
from tests.messages import raises


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


def test_a_backward_parameters_shortcut_that_differs_from_backward_fails() -> None:
    # Training runs backward_parameters on the first layer with parameters: the check compares it.
    class ForgetsTheBias(Dense):
        def backward_parameters(self, grad_y):
            self.weight.grad[...] = self._x.T @ grad_y

    x = np.random.default_rng(0).normal(size=(4, 3))
    report = check_gradients(ForgetsTheBias(3, 2, seed=0), x)
    assert not report.passed and all(row.passed for row in report.rows)  # backward itself is right
    assert report.problems == ["backward_parameters of ForgetsTheBias 'forgetsthebias' filled the gradient "
                               "of bias otherwise than backward did; training runs it on the first layer "
                               "with parameters, so both must agree"]
    assert check_gradients(Dense(3, 2, seed=0), x).passed  # Dense's own shortcut agrees


def test_a_network_check_compares_the_shortcut_of_its_first_layer_with_parameters() -> None:
    # fit runs backward_parameters on the first layer with parameters (here the second layer, after a
    # ReLU), backward on the layers above it: a wrong shortcut there trains on a wrong gradient.
    class ZeroShortcut(Dense):
        def backward_parameters(self, grad_y):
            self.weight.grad[...] = 0.0
            self.bias.grad[...] = 0.0

    x = np.random.default_rng(0).normal(size=(4, 3))
    network = Network([ReLU(), ZeroShortcut(3, 2, seed=0, name="head"), Dense(2, 1, seed=1)])
    network.compile(optimizer="sgd", loss="mse")
    network.loss_and_backward(x, np.ones((4, 1)))
    assert not network[1].weight.grad.any()  # what training uses: the shortcut's zeros
    report = check_gradients(network, x)
    assert not report.passed and all(row.passed for row in report.rows)  # backward itself is right
    assert [problem.split(" otherwise")[0] for problem in report.problems] == [
        "backward_parameters of ZeroShortcut 'head' filled the gradient of head.weight",
        "backward_parameters of ZeroShortcut 'head' filled the gradient of head.bias"]
    # Above the first layer with parameters training runs backward, never the shortcut: nothing to report
    assert check_gradients(Network([Dense(3, 2, seed=0), ZeroShortcut(2, 1, seed=1)]), x).passed


class FreesItsCache(minidl.Layer):  # a ReLU that lets go of its input in backward (to save memory)
    overwrites_gradients = True

    def forward(self, x):
        self.x = x
        return np.maximum(x, 0.0)

    def backward(self, grad_y):
        x = self.x
        del self.x
        return grad_y * (x > 0)


def test_a_layer_that_frees_its_cache_in_backward_passes_in_a_network_check() -> None:
    # The shortcut comparison ran a second backward with no forward between: "backward failed"
    x = np.random.default_rng(0).normal(size=(6, 4))
    assert check_gradients(Network([Dense(4, 5, seed=0), FreesItsCache(), Dense(5, 3, seed=1)]), x).passed


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


def test_a_backward_that_steps_its_own_parameter_is_named_not_blamed_on_randomness():
    class StepsInBackward(Dense):
        def backward(self, grad_y):
            grad_x = super().backward(grad_y)
            self.weight.value -= 0.1 * self.weight.grad  # the optimizer's job
            return grad_x

    report = check_gradients(StepsInBackward(3, 2, seed=0), np.ones((4, 3)))
    assert not report.passed
    assert report.problems == ["backward changed the value of weight; it must only fill its gradient, p.grad "
                               "(the optimizer changes the values)"]
    assert report.failed_names == []  # the values were put back: the gradients themselves are right


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


def test_check_gradients_fails_a_parameter_created_in_forward() -> None:
    x = np.random.default_rng(0).normal(size=(4, 3))
    report = minidl.check_gradients(LazyScale(), x)
    assert not report.passed
    assert any("'w'" in problem and "__init__" in problem for problem in report.problems)


def test_check_gradients_fails_parameters_hidden_in_a_container() -> None:
    x = np.random.default_rng(0).normal(size=(4, 3))
    report = minidl.check_gradients(ListScale(), x)
    assert not report.passed
    assert any("'weights'" in problem and "list" in problem for problem in report.problems)
    network_report = minidl.check_gradients(minidl.Network([minidl.Dense(3, 3, seed=0), ListScale()]), x)
    assert not network_report.passed
    helper = minidl.check_gradients(HelperScale(), x)  # on a plain object of one's own
    assert not helper.passed and "attribute 'p' holds a Parameter inside a Helper" in helper.problems[0]


def test_check_gradients_fails_a_layer_with_parameters_kept_in_a_layer() -> None:
    # PyTorch's habit (self.inner = nn.Linear): the inner Dense's gradient went unchecked, and passed
    x = np.random.default_rng(0).normal(size=(4, 3))
    for checked in (InnerDense(), minidl.Network([InnerDense(), minidl.Dense(3, 1, seed=1)])):
        report = minidl.check_gradients(checked, x)
        assert not report.passed
        assert report.problems == [
            "InnerDense 'innerdense': attribute 'inner' holds the layer Dense 'dense', whose Parameter "
            "'weight' parameters() does not list, so the optimizers never update it (nor was it checked): "
            "minidl does not nest layers; list 'dense' in the Network, or keep its Parameters as attributes "
            "of your layer: self.w = Parameter(...)"]


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


def test_an_object_that_cannot_be_copied_is_refused_with_the_reason():
    class HoldsALock(Tanh):
        def __init__(self):
            super().__init__()
            self.lock = threading.Lock()

    with pytest.raises(TypeError, match=r"could not be copied \(TypeError: .*lock.*keep only arrays"):
        check_gradients(HoldsALock(), X)


# -- randomness -------------------------------------------------------------------------------
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


def test_a_random_state_attribute_is_rewound_too():
    class LegacyNoise(Layer):
        def __init__(self):
            super().__init__()
            self.random = np.random.RandomState(4)  # the legacy generator, on purpose

        def forward(self, x):
            return x + self.random.normal(size=x.shape)

        def backward(self, grad_y):
            return grad_y

    layer = LegacyNoise()
    assert check_gradients(layer, X).passed
    assert layer.random.normal() == np.random.RandomState(4).normal()  # the original did not move


def test_randomness_the_check_cannot_repeat_is_reported():
    class FreshNoise(Layer):
        def forward(self, x):
            return x + np.random.default_rng().normal(size=x.shape)  # a new generator every call

        def backward(self, grad_y):
            return grad_y

    report = check_gradients(FreshNoise(), X)
    assert not report.passed
    assert any("different outputs for the same input" in problem for problem in report.problems)


# -- parameters by name ----------------------------------------------------------------------
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


def test_parameters_listed_under_one_name_get_distinct_rows():
    class Pair(Layer):
        """Its parameters live in a list; parameters() is overridden to list them."""

        def __init__(self):
            super().__init__()
            self.scales = [Parameter(np.ones(3)), Parameter(np.full(3, 2.0))]  # both named "parameter"

        def parameters(self):
            return list(self.scales)

        def forward(self, x):
            self.x = x
            return x * self.scales[0].value * self.scales[1].value

        def backward(self, grad_y):
            self.scales[0].grad[...] = (grad_y * self.x * self.scales[1].value).sum(axis=0)
            self.scales[1].grad[...] = (grad_y * self.x * self.scales[0].value).sum(axis=0)
            return grad_y * self.scales[0].value * self.scales[1].value

    report = check_gradients(Pair(), X)
    assert report.passed, report
    assert [row.name for row in report.rows] == ["input", "parameter", "parameter_2"]


# -- the report: rows, table, verdict, raising ----------------------------------------------
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


def test_failed_table_counts_the_wrong_gradients_and_lists_problems():
    row = GradientCheckRow("w", (2,), 0, math.nan, math.nan, None, math.nan, math.nan, False, "no array")
    report = GradientCheckReport("Thing 't'", [row], ["x changed"], eps=1e-6, rtol=1e-5, atol=1e-6)
    lines = str(report).splitlines()
    assert lines[0] == "Gradient check of Thing 't': FAILED (1 of 1 gradients wrong, 1 other problem(s))"
    assert lines[4].split() == ["w", "(2,)", "0/2", "-", "-", "-", "-", "-", "WRONG"]
    assert lines[5:] == ["  w: no array", "  problem: x changed"]  # no word of kinks: no numbers compared
    assert report.requested_atol == 1e-6  # the atol used, when none is given
    assert report.max_relative_error == math.inf
    assert repr(report) == "GradientCheckReport(subject=\"Thing 't'\", passed=False, max_relative_error=inf)"


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


def test_max_entries_none_checks_every_entry():
    # 40 * 30 = 1200 weights: the default (1000) samples them, None checks all.
    x = normal(1, (2, 40))
    sampled = check_gradients(Dense(40, 30, seed=0), x)
    every = check_gradients(Dense(40, 30, seed=0), x, max_entries=None)
    assert [row.checked for row in sampled.rows] == [80, 1000, 30]
    assert [row.checked for row in every.rows] == [80, 1200, 30]


class ReturnsAScalar(minidl.Layer):
    """Sums its input: a numpy scalar, which the layer's own output check lets through (np.generic)."""

    def forward(self, x):
        return x.sum()

    def backward(self, grad_y):
        return np.ones(X.shape) * grad_y


def test_a_layer_whose_forward_returns_a_numpy_scalar_is_named():
    raises(TypeError, lambda: check_gradients(ReturnsAScalar(), X),
           "ReturnsAScalar 'returnsascalar': forward must return a numpy array; got float64")


class EmptyParameter(minidl.Layer):
    """y = 2x, with a parameter of no entries (nothing to check, nothing wrong)."""

    def __init__(self):
        super().__init__()
        self.w = minidl.Parameter(np.zeros((0,)), name="w")

    def forward(self, x):
        return 2.0 * x

    def backward(self, grad_y):
        return 2.0 * grad_y


def test_a_parameter_without_entries_passes_with_nothing_checked():
    report = check_gradients(EmptyParameter(), X)
    assert report.passed
    assert [(row.name, row.checked) for row in report.rows] == [("input", X.size), ("w", 0)]


class SquareRoot(minidl.Layer):
    def forward(self, x):
        self.x = x
        return np.sqrt(x)

    def backward(self, grad_y):
        return grad_y * 0.5 / np.sqrt(np.maximum(self.x, 1e-12))


def test_a_forward_that_is_nan_beside_the_point_fails_and_says_choose_another_x():
    with np.errstate(invalid="ignore"):  # sqrt(0 - eps)
        report = check_gradients(SquareRoot(), np.array([[0.0, 1.0]]))
    assert not report.passed
    assert report.rows[0].problem == "forward gave NaN or infinity near this point; choose another x"


def test_a_failed_comparison_of_numbers_mentions_kinks():
    # A correct ReLU checked at 0 fails (no derivative there): the report says why that may be
    report = check_gradients(ReLU(), np.array([[0.0, 1.0]]))
    assert not report.passed
    assert str(report).splitlines()[-1] == (
        "  (if x sits on a kink of the function, ReLU's or |x|'s at 0, it has no derivative there: check "
        "again at a point off it)")
    assert "kink" not in str(check_gradients(ReLU(), np.array([[-0.5, 1.0]])))
