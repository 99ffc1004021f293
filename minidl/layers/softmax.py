"""Softmax: scores to probabilities over the last axis (not element-wise)."""

from __future__ import annotations

import numpy as np

from minidl._typing import Array
from minidl.layers.activations import KeepsShape
from minidl.layers.base import Layer


class Softmax(KeepsShape, Layer):
    """Softmax over the last axis: ``p[i] = exp(z[i]) / sum_k exp(z[k])``.

    Each row of the output is a probability distribution (non-negative, summing to 1).
    Computed as ``exp(z - max(z))``, which gives the same ``p`` without overflow.

    Not element-wise (each ``p[i]`` depends on every ``z[k]``), so it is a ``Layer``
    with its own backward. Followed by a cross-entropy loss in ``Network.fit``, the two
    are fused (see the losses).

    Examples
    --------
    >>> Softmax().forward(np.array([[0.0, np.log(3.0)]]))
    array([[0.25, 0.75]])
    """

    overwrites_gradients = True  # no parameters: nothing to clear before backward

    _p: Array  # the output of the last forward

    def _input_problem(self, x: Array, expected: tuple[int | None, ...] | None) -> Exception | None:
        """Any batch of real numbers with at least one score on the last axis (the base checks the rest)."""
        if x.ndim > 0 and x.shape[-1] == 0:
            return ValueError(f"Softmax {self.name!r}: expected at least one score on the last axis; "
                              f"got shape {x.shape}")
        return super()._input_problem(x, expected)

    def forward(self, x: Array) -> Array:
        """``p = exp(x - max x) / sum(exp(x - max x))`` along the last axis; any shape, the same out."""
        if x.dtype.kind != "f":  # integer or boolean input: exp below writes into this array
            x = x.astype(np.float64)
        shifted = x - x.max(axis=-1, keepdims=True)
        p: Array = np.exp(shifted, out=shifted)  # in place: shifted is ours and not needed after
        p /= p.sum(axis=-1, keepdims=True)
        self._p = p
        return p

    def backward(self, grad_y: Array) -> Array:
        """The Jacobian-vector product, row by row, without building the Jacobian.

        The Jacobian is ``dp[i]/dz[j] = p[i] * (delta_ij - p[j])``, so with ``g = dL/dp``:
        ``dL/dz[j] = p[j] * (g[j] - sum_i g[i] * p[i])``. Same shape in and out.
        """
        p = self._p
        weighted: Array = (grad_y * p).sum(axis=-1, keepdims=True)
        return p * (grad_y - weighted)
