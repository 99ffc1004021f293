"""The object a check works on (minidl/gradcheck/clone.py): a float64 deep copy, the original
untouched, randomness rewound before every forward, parameters named and none overlooked."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest

from minidl import Activation, BatchNorm, Dense, Dropout, Layer, Network, Parameter, Tanh, check_gradients
from tests.gradcheck.broken import ForgottenBiasGradient, X, normal


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
