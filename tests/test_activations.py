import numpy as np
import pytest

from minidl import Activation, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from tests.numeric import assert_layer_gradients

AWAY_FROM_ZERO = np.array([[-2.0, -0.5, 0.3], [1.7, -1.1, 0.8]])


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


@pytest.mark.parametrize("activation", [ReLU(), Identity(), LeakyReLU(0.2), Sigmoid(), Tanh()])
@pytest.mark.parametrize("shape", [(2, 3), (3,)])
def test_gradients_match_finite_differences(activation, shape):
    x = AWAY_FROM_ZERO.reshape(-1)[: int(np.prod(shape))].reshape(shape).copy()
    assert_layer_gradients(activation, x)


def test_softmax_rows_are_probabilities_and_stable():
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    p = Softmax().forward(z)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), [1.0, 1.0])
    np.testing.assert_allclose(p[1], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
    np.testing.assert_array_equal(p[0], [1.0, 0.0, 0.0])


@pytest.mark.parametrize("shape", [(4, 3), (5,)])
def test_softmax_gradient_matches_finite_differences(shape):
    x = np.random.default_rng(2).normal(size=shape)
    assert_layer_gradients(Softmax(), x)


def test_softmax_backward_is_not_the_diagonal_shortcut():
    softmax = Softmax()
    p = softmax.forward(np.array([0.0, 1.0]))
    upstream = np.array([1.0, 0.0])
    diagonal_only = upstream * p * (1 - p)
    assert not np.allclose(softmax.backward(upstream), diagonal_only)


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
