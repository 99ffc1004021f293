"""Element-wise activations (minidl/layers/activations.py): values, gradients, one shared
template of function and derivative, arguments checked."""

from __future__ import annotations

import numpy as np
import pytest

from minidl import Activation, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from tests.messages import raises
from tests.numeric import assert_layer_gradients

X = np.array([[-2.0, -0.5, 0.3], [1.7, -1.1, 0.8]])


@pytest.mark.parametrize("kind", [Identity, LeakyReLU, ReLU, Sigmoid, Tanh])
def test_no_built_in_element_wise_activation_overrides_forward(kind):
    assert kind.forward is Activation.forward


@pytest.mark.parametrize("kind", [LeakyReLU, ReLU, Sigmoid, Tanh])
def test_they_share_one_backward(kind):
    assert kind.backward is Activation.backward


def test_identity_passes_the_gradient_through_uncopied():
    identity = Identity()
    identity.forward(X)
    upstream = np.ones_like(X)
    assert identity.backward(upstream) is upstream


def test_relu_derivative_is_a_boolean_mask_and_backward_keeps_float32():
    relu = ReLU()
    mask = relu.derivative(X)
    assert mask.dtype == np.bool_
    np.testing.assert_array_equal(mask, X > 0)
    relu.forward(X.astype(np.float32))
    assert relu.backward(np.ones(X.shape, dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize("kind", [Sigmoid, Tanh])
def test_sigmoid_and_tanh_backward_reuse_the_output_with_no_second_function_call(kind):
    activation = kind()
    calls = []
    original = activation.function
    activation.function = lambda x: calls.append(1) or original(x)
    y = activation.forward(X)
    upstream = np.random.default_rng(0).normal(size=X.shape)
    grad_x = activation.backward(upstream)
    assert len(calls) == 1  # forward only
    np.testing.assert_allclose(grad_x, upstream * activation.derivative_from_output(y), rtol=0, atol=0)
    np.testing.assert_allclose(activation.derivative(X), activation.derivative_from_output(y), rtol=1e-15)


def test_an_activation_may_take_its_slope_from_the_output():
    class Exp(Activation):
        derivative_uses_output = True

        def function(self, x):
            return np.exp(x)

        def derivative(self, x):
            return np.exp(x)

        def derivative_from_output(self, y):
            return y

    exp = Exp()
    y = exp.forward(X)
    np.testing.assert_allclose(exp.backward(np.ones_like(X)), y)


def test_an_activation_without_an_output_form_says_so_when_it_claims_one():
    class Claims(Activation):
        derivative_uses_output = True

        def function(self, x):
            return x

        def derivative(self, x):
            return np.ones_like(x)

    claims = Claims()
    claims.forward(X)
    with pytest.raises(NotImplementedError, match="Claims has no derivative_from_output"):
        claims.backward(np.ones_like(X))


def test_softmax_lives_in_its_own_module_and_takes_any_rank():
    from minidl.layers.softmax import Softmax as Direct

    assert Direct is Softmax
    p = Softmax().forward(np.zeros((2, 3, 4)))
    np.testing.assert_allclose(p, 0.25)


def test_relu_values_and_derivative_zero_at_zero():
    relu = ReLU()
    np.testing.assert_array_equal(relu.forward(np.array([-3.0, 0.0, 3.0])), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(relu.derivative(np.array([-3.0, 0.0, 3.0])), [0.0, 0.0, 1.0])


def test_identity_leaky_relu_sigmoid_tanh_values():
    x = np.array([-2.0, 0.0, 2.0])
    np.testing.assert_array_equal(Identity().forward(x), x)
    np.testing.assert_allclose(LeakyReLU(alpha=0.1).forward(x), [-0.2, 0.0, 2.0])
    np.testing.assert_allclose(Sigmoid().forward(x), [1 / (1 + np.e**2), 0.5, 1 / (1 + np.e**-2)])
    np.testing.assert_allclose(Tanh().forward(x), np.tanh(x))
    assert LeakyReLU().alpha == 0.01


def test_sigmoid_is_finite_and_exact_for_extreme_inputs():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        values = Sigmoid().forward(np.array([-1000.0, 1000.0]))
    np.testing.assert_array_equal(values, [0.0, 1.0])


AWAY_FROM_ZERO = np.array([[-2.0, -0.5, 0.3], [1.7, -1.1, 0.8]])


@pytest.mark.parametrize("activation", [ReLU(), Identity(), LeakyReLU(0.2), Sigmoid(), Tanh()])
@pytest.mark.parametrize("shape", [(2, 3), (3,)])
def test_gradients_match_finite_differences(activation, shape):
    x = AWAY_FROM_ZERO.reshape(-1)[: int(np.prod(shape))].reshape(shape).copy()
    assert_layer_gradients(activation, x)


def test_a_subclass_defines_function_and_derivative_only():
    class Square(Activation):
        def function(self, x):
            return x * x

        def derivative(self, x):
            return 2 * x

    square = Square()
    assert square.name == "square"
    np.testing.assert_array_equal(square.forward(np.array([3.0])), [9.0])
    np.testing.assert_array_equal(square.backward(np.array([2.0])), [12.0])
    assert_layer_gradients(square, AWAY_FROM_ZERO.copy())


def test_activation_without_both_methods_cannot_be_created():
    class Incomplete(Activation):
        def function(self, x):
            return x

    with pytest.raises(TypeError):
        Incomplete()


@pytest.mark.parametrize("layer", [ReLU(), Sigmoid(), Softmax(), Identity()])
def test_backward_before_forward_is_an_error(layer):
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones(3))


@pytest.mark.parametrize("layer", [ReLU(), Softmax(), Identity()])
def test_backward_with_wrong_shape_is_an_error(layer):
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"expected grad_y of shape \(2, 3\)"):
        layer.backward(np.ones((3, 2)))


def test_relu_backward_does_not_change_the_incoming_gradient():
    relu = ReLU()
    relu.forward(np.array([-1.0, 1.0]))
    upstream = np.array([5.0, 5.0])
    np.testing.assert_array_equal(relu.backward(upstream), [0.0, 5.0])
    np.testing.assert_array_equal(upstream, [5.0, 5.0])


def test_leaky_relu_alpha_is_validated():
    with pytest.raises(ValueError, match="alpha"):
        LeakyReLU(alpha=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        LeakyReLU(alpha=float("nan"))


@pytest.mark.parametrize("layer", [ReLU(), LeakyReLU(), Sigmoid(), Tanh(), Softmax(), Identity()])
def test_float32_stays_float32(layer):
    x = np.array([[-1.0, 0.5, 2.0]], dtype=np.float32)
    y = layer.forward(x)
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


ALL_ELEMENTWISE = [ReLU(), Identity(), LeakyReLU(0.2), LeakyReLU(1.5), Sigmoid(), Tanh()]


@pytest.mark.parametrize("activation", ALL_ELEMENTWISE)
def test_derivative_method_matches_finite_differences_of_function(activation):
    # Built-ins may override backward for speed; their derivative() must stay right on its own.
    x = AWAY_FROM_ZERO.copy()
    h = 1e-6
    numeric = (activation.function(x + h) - activation.function(x - h)) / (2 * h)
    np.testing.assert_allclose(activation.derivative(x), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("activation", [ReLU(), LeakyReLU(0.2), Sigmoid(), Tanh()])
def test_backward_equals_upstream_times_derivative(activation):
    x = AWAY_FROM_ZERO.copy()
    upstream = np.random.default_rng(3).normal(size=x.shape)
    activation.forward(x)
    np.testing.assert_allclose(activation.backward(upstream), upstream * activation.derivative(x), rtol=1e-12)


@pytest.mark.parametrize(("alpha", "error", "fragments"), [
    (-0.1, ValueError, ["must be in [0.0, inf]", "got -0.1"]),
    (np.nan, ValueError, ["must be finite", "got nan"]),
    ("0.1", TypeError, ["must be a real number", "got '0.1'"]),
])
def test_leaky_relu_alpha_is_checked(alpha: object, error: type[Exception], fragments: list[str]) -> None:
    raises(error, lambda: LeakyReLU(alpha), "LeakyReLU alpha", *fragments)


def test_relu_and_leaky_relu_slopes_at_exactly_zero_are_the_documented_ones():
    # ReLU: 0 at 0 (PyTorch, Keras); LeakyReLU: alpha at 0 (its docstring).
    x, upstream = np.array([[-1.0, 0.0, 1.0]]), np.array([[1.0, 1.0, 1.0]])
    relu, leaky = ReLU(), LeakyReLU(alpha=0.25)
    relu.forward(x)
    np.testing.assert_array_equal(relu.backward(upstream), [[0.0, 0.0, 1.0]])
    leaky.forward(x)
    np.testing.assert_array_equal(leaky.backward(upstream), [[0.25, 0.25, 1.0]])


@pytest.mark.parametrize("layer", [ReLU(), LeakyReLU(0.1), Sigmoid(), Tanh(), Identity(), Softmax()])
def test_boolean_input_is_computed_as_zeros_and_ones(layer):
    expected = layer.forward(np.array([[1.0, 0.0]]))
    # rtol: numpy's tanh of a boolean array is float16
    np.testing.assert_allclose(layer.forward(np.array([[True, False]])), expected, rtol=1e-3)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.bool_, np.int64])
@pytest.mark.parametrize("layer", [Tanh(), Sigmoid(), ReLU(), LeakyReLU()], ids=lambda a: type(a).__name__)
def test_integer_input_given_straight_to_an_activation_is_computed_in_float64(layer, dtype):
    # np.tanh picks float16 for uint8, int8 and bool: tanh(1) came out 0.7617, its gradient 1.5e-4 off.
    x = np.array([[0, 1, 1, 0]], dtype=dtype)
    expected = type(layer)().forward(x.astype(np.float64))
    y = layer.forward(x)
    assert y.dtype == np.float64 if y.dtype.kind == "f" else y.dtype == dtype  # ReLU may keep integers
    np.testing.assert_array_equal(y, expected)
