"""One template for every element-wise activation: function, derivative, one shared backward."""

import numpy as np
import pytest

from minidl import Activation, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh

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
