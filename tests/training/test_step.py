"""One training step's plan (minidl/training/step.py): which layers a loss is checked against."""

from __future__ import annotations

import numpy as np
import pytest

from minidl import CategoricalCrossEntropy, Dense, Flatten, Identity, Layer, Network, Parameter, ReLU, Softmax
from tests.messages import raises


def test_a_network_of_layers_that_only_pass_values_on_compiles_and_fit_says_it_has_nothing_to_train():
    # Every layer passes on the values of the one before, so the loss is asked of each in turn.
    network = Network([Flatten(), Identity()])
    network.compile(optimizer="sgd", loss="mse")
    raises(ValueError, lambda: network.fit(np.ones((2, 3)), np.ones((2, 3)), verbose=0),
           "the network has no parameters to train (no layer with weights)")


def test_evaluate_scores_a_network_without_parameters():
    # Only training needs weights: ReLU([[1], [-2]]) is [[1], [0]], so against [[1], [1]] the squared and
    # absolute errors are 0 and 1 (it was refused with "no parameters to train")
    network = Network([ReLU()])
    network.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    assert network.evaluate([[1.0], [-2.0]], [[1.0], [1.0]]) == {"loss": 0.5, "mae": 0.5}


def test_binary_cross_entropy_after_a_softmax_over_more_than_two_units_is_refused():
    # Its 'accuracy' was binary over each output: 0.65 for 3 classes where 36% of the samples were right
    three = Network([Dense(4, 3, seed=0), Softmax()])
    raises(ValueError, lambda: three.compile(optimizer="sgd", loss="binary_crossentropy"),
           "BinaryCrossEntropy: the network ends in Softmax 'softmax' over 3 units, whose outputs are tied",
           "use categorical_crossentropy", "sparse_categorical_crossentropy", "end in Sigmoid")
    # Two units are one yes/no answer twice: Keras's Dense(2, activation="softmax") with binary_crossentropy
    # gives categorical cross-entropy's loss, and its binary accuracy is the argmax's
    x, labels = np.random.default_rng(0).normal(size=(8, 4)), np.array([0, 1, 1, 0, 1, 0, 0, 1])
    two = Network([Dense(4, 2, seed=0), Softmax()])
    two.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    logs = two.evaluate(x, np.eye(2)[labels])
    assert logs["loss"] == pytest.approx(CategoricalCrossEntropy().forward(two.predict(x), np.eye(2)[labels]))
    assert logs["accuracy"] == np.mean(np.argmax(two.predict(x), axis=1) == labels)


class _FloatGrad(Layer):
    """A learner's backward that rebinds the gradient to a Python float: p.grad = float(...)."""

    def __init__(self):
        super().__init__()
        self.k = Parameter(np.array(1.0), name="k")

    def forward(self, x):
        self.x = x
        return x * self.k.value

    def backward(self, grad_y):
        self.k.grad = float((grad_y * self.x).sum())
        return grad_y * self.k.value


def test_a_gradient_rebound_to_a_float_in_a_user_layer_names_the_layer_and_says_to_assign_in_place():
    # It crashed fit with AttributeError: 'float' object has no attribute 'shape'
    network = Network([Dense(3, 3, seed=0), _FloatGrad(), Dense(3, 1, seed=1)])
    network.compile(optimizer="sgd", loss="mse")
    raises(TypeError, lambda: network.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0),
           "_FloatGrad '_floatgrad': backward set the gradient of parameter 'k' to a float; it must be a "
           "numpy array of shape ()", "p.grad[...] = g")
