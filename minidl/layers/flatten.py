"""Flatten: each sample becomes one vector, so a Dense layer can follow convolutions."""

from __future__ import annotations

import math

from minidl._typing import Array, Shape
from minidl.errors import label
from minidl.layers.base import Layer


class Flatten(Layer):
    """Reshape ``(batch, d1, d2, ...)`` to ``(batch, d1 * d2 * ...)``, in C order.

    For images ``(N, C, H, W) -> (N, C * H * W)``: entry ``c * H * W + h * W + w`` of a
    sample's vector is its pixel ``(c, h, w)`` (the last axis varies fastest), as
    ``numpy.reshape`` and PyTorch's ``nn.Flatten`` order it. A ``(batch, features)``
    input passes unchanged. No parameters.

    Examples
    --------
    >>> Flatten().forward(np.arange(8.0).reshape(2, 1, 2, 2))
    array([[0., 1., 2., 3.],
           [4., 5., 6., 7.]])
    """

    overwrites_gradients = True  # no parameters: nothing to clear before backward

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name)
        self._x_shape: tuple[int, ...]

    def forward(self, x: Array) -> Array:
        """``y = x.reshape(batch, -1)``: shape ``(batch, d1, ..., dk) -> (batch, d1 * ... * dk)``.

        A view when ``x`` is contiguous, else a copy (e.g. after a Conv2D, whose output
        is a transposed view).
        """
        if x.ndim < 2:
            raise ValueError(f"{label(self)}: expected a batch of rank 2 or more, (batch, d1, ...); got an "
                             f"array of rank {x.ndim} with shape {x.shape}")
        self._x_shape = x.shape
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))  # not -1: an empty batch has none

    def backward(self, grad_y: Array) -> Array:
        """``dL/dx = grad_y.reshape(x.shape)``: each value goes back to where it came from.

        ``grad_y`` has shape ``(batch, d1 * ... * dk)``; returns ``(batch, d1, ..., dk)``.
        """
        return grad_y.reshape(self._x_shape)

    def output_shape(self, input_shape: Shape | None) -> Shape:
        """``(None, d1 * ... * dk)``; the size is None (not known) if any ``d`` is."""
        sizes = (None,) if input_shape is None else input_shape[1:]
        return (None, None if None in sizes else math.prod(n or 0 for n in sizes))
