"""The Layer contract's shared checks: declared per layer, run once in the base class."""

import numpy as np
import pytest

from minidl import Dense, Layer, Network, ReLU, check_gradients
from minidl.layers.base import Parameter


class Doubler(Layer):
    """A user layer that declares its input: batches of 3 features."""

    input_shape = (None, 3)

    def forward(self, x):
        return 2.0 * x

    def backward(self, grad_y):
        return 2.0 * grad_y


def test_a_user_layer_declares_its_input_and_the_base_checks_it():
    layer = Doubler()
    np.testing.assert_array_equal(layer.forward(np.ones((2, 3))), np.full((2, 3), 2.0))
    message = r"Doubler 'doubler': expected 3 input features \(last axis\); got 4"
    with pytest.raises(ValueError, match=message):
        layer.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"rank 3 with shape \(1, 2, 3\)"):
        layer.forward(np.ones((1, 2, 3)))
    with pytest.raises(TypeError, match="real numbers; got dtype <U1"):
        layer.forward(np.array([["a", "b", "c"]]))


def test_a_declared_any_size_axis_accepts_every_size():
    class Images(Doubler):
        input_shape = (None, 2, None)

    layer = Images()
    assert layer.forward(np.ones((4, 2, 5))).shape == (4, 2, 5)
    assert layer.forward(np.ones((1, 2, 1))).shape == (1, 2, 1)
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 2, \*\); got shape \(4, 3, 5\)"):
        layer.forward(np.ones((4, 3, 5)))


def test_user_layers_get_the_backward_checks_too():
    layer = Doubler()
    with pytest.raises(RuntimeError, match=r"Doubler 'doubler': backward\(\) called before forward\(\)"):
        layer.backward(np.ones((2, 3)))
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"expected grad_y of shape \(2, 3\).*got \(3, 2\)"):
        layer.backward(np.ones((3, 2)))


def test_the_shapes_of_the_latest_forward_are_kept():
    layer = Dense(3, 2, seed=0)
    assert layer.last_input_shape is None and layer.last_output_shape is None
    layer.forward(np.ones((5, 3)))
    assert (layer.last_input_shape, layer.last_output_shape) == ((5, 3), (5, 2))
    layer.forward(np.ones((1, 3)))
    assert (layer.last_input_shape, layer.last_output_shape) == ((1, 3), (1, 2))


def test_the_checks_keep_each_methods_name_and_docstring():
    assert Dense.forward.__name__ == "forward" and "y = x @ W + b" in (Dense.forward.__doc__ or "")
    assert "chain rule" in (Dense.backward.__doc__ or "").lower()
    assert ReLU.derivative.__name__ == "derivative"


def test_a_list_input_is_turned_into_an_array_once():
    np.testing.assert_array_equal(Dense(2, 1, weight_init=[[1.0], [1.0]]).forward([[1.0, 2.0]]), [[3.0]])


def test_a_layer_given_one_sample_directly_says_layers_take_batches():
    with pytest.raises(ValueError, match=r"expected a batch.*one sample of shape \(3,\).*x\[None\]"):
        Dense(3, 1).forward(np.ones(3))
    assert Network([Dense(3, 1, seed=0)]).forward(np.ones(3)).shape == (1,)


def test_built_in_layers_with_parameters_overwrite_their_gradients():
    from minidl import BatchNorm

    assert Dense.overwrites_gradients and BatchNorm.overwrites_gradients
    assert not Layer.overwrites_gradients


def test_a_user_layer_checked_through_the_base_still_passes_the_gradient_check():
    class Scale(Layer):
        input_shape = (None, 2)

        def __init__(self):
            super().__init__()
            self.w = Parameter(np.array([1.5, -0.5]))

        def forward(self, x):
            self.x = x
            return x * self.w.value

        def backward(self, grad_y):
            self.w.grad[...] = (grad_y * self.x).sum(axis=0)
            return grad_y * self.w.value

    assert check_gradients(Scale(), np.array([[1.0, 2.0], [3.0, -1.0]])).passed
