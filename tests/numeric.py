"""Central finite differences, written independently of minidl's own gradient checker."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(function: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d function() / d array by central differences, perturbing ``array`` in place."""
    grad = np.zeros_like(array, dtype=np.float64)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = function()
        array[index] = original - eps
        minus = function()
        array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def assert_layer_gradients(
    layer, x: np.ndarray, seed: int = 0, rtol: float = 1e-6, atol: float = 1e-8
) -> None:
    """Check ``layer.backward`` against finite differences of ``sum(forward(x) * upstream)``.

    A random upstream gradient (not all ones) makes sure the backward pass uses it.
    """
    rng = np.random.default_rng(seed)
    upstream = rng.normal(size=layer.forward(x).shape)

    def objective() -> float:
        return float(np.sum(layer.forward(x) * upstream))

    layer.forward(x)
    grad_x = layer.backward(upstream.copy())
    analytic = {"x": grad_x} | {p.name: p.grad.copy() for p in layer.parameters()}
    numeric = {"x": numerical_gradient(objective, x)}
    numeric |= {p.name: numerical_gradient(objective, p.value) for p in layer.parameters()}
    for name in analytic:
        np.testing.assert_allclose(analytic[name], numeric[name], rtol=rtol, atol=atol, err_msg=name)
