"""Chain (minidl/layers/chain.py): the layers' checks run once per batch shape, the numbers never change."""

from __future__ import annotations

import numpy as np
import pytest

from minidl import Dense, Dropout, Layer, Parameter, ReLU, Sigmoid
from minidl.layers.chain import Chain
from tests.messages import raises


def make_layers():
    return [Dense(3, 4, seed=0), ReLU(), Dense(4, 2, seed=1), Sigmoid()]


def by_hand(layers, x, grad):
    """Forward and backward layer by layer through the checked methods: the reference."""
    for layer in layers:
        x = layer.forward(x)
    output = x
    for layer in reversed(layers):
        grad = layer.backward(grad)
    return output, grad, [p.grad.copy() for layer in layers for p in layer.parameters()]


def test_the_bare_path_gives_exactly_the_numbers_of_the_checked_methods():
    rng = np.random.default_rng(0)
    chain, reference = Chain(make_layers()), make_layers()
    for _ in range(3):  # the first call checks, the next two run the bare math
        x, grad = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
        output, grad_x = chain.forward(x), chain.backward(grad)
        expected, expected_x, expected_grads = by_hand(reference, x, grad)
        np.testing.assert_array_equal(output, expected)
        np.testing.assert_array_equal(grad_x, expected_x)
        grads = [p.grad for layer in chain.layers for p in layer.parameters()]
        for got, want in zip(grads, expected_grads, strict=True):
            np.testing.assert_array_equal(got, want)


class Spy:
    """Counts the calls of a layer class's checked ``forward`` and ``backward``."""

    def __init__(self, monkeypatch, cls):
        self.forward = self.backward = 0
        checked_forward, checked_backward = cls.forward, cls.backward

        def forward(layer, x):
            self.forward += 1
            return checked_forward(layer, x)

        def backward(layer, grad_y):
            self.backward += 1
            return checked_backward(layer, grad_y)

        monkeypatch.setattr(cls, "forward", forward)
        monkeypatch.setattr(cls, "backward", backward)


def test_the_checked_methods_run_for_a_new_batch_shape_or_dtype_only(monkeypatch):
    chain = Chain([Dense(3, 2, seed=0), ReLU()])
    spy = Spy(monkeypatch, Dense)
    x = np.ones((4, 3))
    chain.forward(x)
    chain.backward(np.ones((4, 2)))
    assert (spy.forward, spy.backward) == (1, 1)
    chain.forward(x + 1.0)  # same shape and dtype: the bare math
    chain.backward(np.ones((4, 2)))
    assert (spy.forward, spy.backward) == (1, 1)
    chain.forward(np.ones((2, 3)))  # a new batch size is checked again
    assert spy.forward == 2
    chain.forward(np.ones((2, 3), dtype=np.float32))  # and so is a new dtype
    assert spy.forward == 3
    chain.backward(np.ones((2, 2), dtype=np.float32))
    assert spy.backward == 2


def test_a_new_shape_still_gets_the_layers_clear_error_after_a_good_batch():
    chain = Chain(make_layers())
    chain.forward(np.ones((5, 3)))
    chain.forward(np.ones((5, 3)))
    raises(ValueError, lambda: chain.forward(np.ones((5, 4))),
           "Dense 'dense': expected 3 input features (last axis); got 4")
    chain.forward(np.ones((5, 3)))
    raises(ValueError, lambda: chain.backward(np.ones((5, 3))),
           "Sigmoid 'sigmoid': backward expected grad_y of shape (5, 2)", "got (5, 3)")


def test_backward_before_any_forward_is_refused_by_the_last_layer():
    raises(RuntimeError, lambda: Chain(make_layers()).backward(np.ones((5, 2))),
           "Sigmoid 'sigmoid': backward() called before forward()")


def test_a_failed_forward_leaves_nothing_passed_so_the_next_batch_is_checked(monkeypatch):
    chain = Chain([Dense(3, 2, seed=0), ReLU()])
    chain.forward(np.ones((4, 3)))
    with pytest.raises(ValueError):
        chain.forward(np.ones((4, 5)))
    spy = Spy(monkeypatch, Dense)
    chain.forward(np.ones((4, 3)))  # the shape that passed before, but the last forward failed
    assert spy.forward == 1


class Shrinks(Layer):
    """A user layer whose backward returns a gradient of the wrong shape."""

    def forward(self, x):
        return x

    def backward(self, grad_y):
        return grad_y[:, :1]


def test_a_layer_returning_a_wrong_shaped_gradient_is_named():
    chain = Chain([Dense(3, 2, seed=0), Shrinks()])
    chain.forward(np.ones((4, 3)))
    raises(ValueError, lambda: chain.backward(np.ones((4, 2))),
           "Shrinks 'shrinks': backward returned a gradient of shape (4, 1)",
           "input in the last forward had shape (4, 2)")


class Adds(Layer):
    """A user layer that adds to its gradient (PyTorch's habit): the chain clears it first."""

    def __init__(self):
        super().__init__()
        self.scale = Parameter(np.array([2.0]))

    def forward(self, x):
        self._x = x
        return self.scale.value * x

    def backward(self, grad_y):
        self.scale.grad += (grad_y * self._x).sum()
        return self.scale.value * grad_y


def test_an_adding_layer_gets_fresh_gradients_on_both_paths():
    chain = Chain([Adds(), Dense(2, 1, use_bias=False, weight_init=[[1.0], [1.0]])])
    x = np.array([[1.0, 2.0]])
    for _ in range(3):
        chain.forward(x)
        chain.backward(np.ones((1, 1)))
        assert chain.layers[0].scale.grad[0] == 3.0  # d/ds of s * (1 + 2), not a running sum


def test_backward_parameters_stops_at_the_first_layer_with_parameters(monkeypatch):
    dropout, dense = Dropout(0.5, seed=0), Dense(3, 2, seed=0)
    chain = Chain([dropout, dense, ReLU()])
    assert chain.first == 1
    spy = Spy(monkeypatch, Dropout)
    for _ in range(2):
        output = chain.forward(np.ones((4, 3)))
        assert chain.backward_parameters(np.ones((4, 2))) is None
        assert spy.backward == 0  # nothing below the first weights is differentiated
        np.testing.assert_array_equal(dense.bias.grad, (output > 0).sum(axis=0))  # dL/db = sum of relu'


def test_a_layer_run_by_someone_else_in_between_sends_the_chain_back_to_the_checks():
    chain = Chain(make_layers())
    for _ in range(2):  # the second forward runs the bare math
        chain.forward(np.ones((5, 3)))
    chain.layers[1].forward(np.ones((1, 4)))  # the ReLU's caches now belong to another batch
    raises(ValueError, lambda: chain.backward(np.ones((5, 2))),
           "ReLU 'relu': backward expected grad_y of shape (1, 4)", "got (5, 4)")


def test_two_chains_over_the_same_layers_do_not_trust_each_others_runs():
    layers = make_layers()
    network_like, fit_like = Chain(layers), Chain(layers)
    for _ in range(2):
        network_like.forward(np.ones((5, 3)))
        network_like.backward(np.ones((5, 2)))
    fit_like.forward(np.ones((2, 3)))
    raises(ValueError, lambda: network_like.backward(np.ones((5, 2))),
           "Sigmoid 'sigmoid': backward expected grad_y of shape (2, 2)", "got (5, 2)")


class ScaleOfFive(Layer):  # a layer of one's own that takes 5 features, after a Dense giving 4
    def __init__(self):
        super().__init__()
        self.scale = Parameter(np.ones(5))

    def forward(self, x):
        return x * self.scale.value

    def backward(self, grad_y):
        return grad_y


def test_numpys_error_in_the_forward_of_a_layer_of_ones_own_names_the_layer():
    # fit said "x of shape (40, 3) does not fit the network: operands could not be broadcast ..."
    chain = Chain([Dense(3, 4, seed=0), ScaleOfFive()])
    raises(ValueError, lambda: chain.forward(np.ones((2, 3))),
           "ScaleOfFive 'scaleoffive' (layer 1): forward failed: operands could not be broadcast")
    raises(ValueError, lambda: chain.forward(np.ones((2, 4))), "Dense 'dense': expected 3 input features")


class _Binarize(Layer):
    """A learner's layer that hands on booleans (x > 0), as a step function would."""

    def forward(self, x):
        return x > 0

    def backward(self, grad_y):
        return np.zeros_like(grad_y)


def test_integers_made_mid_chain_are_converted_on_the_fast_path_too():
    # The second batch of a shape runs the layers' bare math, without the forward check: a conversion
    # of integer input made only in that check left Sigmoid to get booleans there (TypeError), uint8 0.0
    from minidl import Network, Softmax, Tanh

    x = np.array([[1.0, -2.0, 3.0]])
    for layer in (Sigmoid(), Tanh(), Softmax(), Dropout(0.5, seed=0)):
        network = Network([_Binarize(), layer])
        first, second = network.forward(x), network.forward(x)
        assert first.dtype == np.float64 and second.dtype == np.float64
        if not isinstance(layer, Dropout):
            np.testing.assert_array_equal(first, second)
