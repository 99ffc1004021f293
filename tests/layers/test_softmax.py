"""Softmax (minidl/layers/softmax.py): probabilities per row, stable, the full Jacobian backward."""

import numpy as np
import pytest

from minidl import Softmax
from tests.messages import raises
from tests.numeric import assert_layer_gradients


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


def test_softmax_accepts_integer_input():
    np.testing.assert_allclose(Softmax().forward(np.array([0, 0])), [0.5, 0.5])
    np.testing.assert_allclose(Softmax().forward(np.array([True, True])), [0.5, 0.5])


def test_softmax_of_no_scores_is_refused():
    # it reached numpy's "zero-size array to reduction operation maximum which has no identity"
    raises(ValueError, lambda: Softmax().forward(np.ones((4, 0))), "Softmax 'softmax'",
           "expected at least one score on the last axis; got shape (4, 0)")


def test_softmax_of_an_empty_batch_is_an_empty_batch():
    assert Softmax().forward(np.ones((0, 3))).shape == (0, 3)
