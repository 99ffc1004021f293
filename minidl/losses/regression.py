"""Regression losses: the mean squared error and the mean absolute error, over every element."""

from __future__ import annotations

import numpy as np

from minidl._typing import Array
from minidl.losses.base import Loss, dot, total


class MeanSquaredError(Loss):
    """Mean of the squared errors over every element (samples and outputs), ``L = mean((p - y)**2)``.

    Examples
    --------
    >>> MeanSquaredError().forward(np.array([[9.0], [3.0]]), [3.0, 3.0])
    18.0
    """

    name = "mean_squared_error"
    elementwise = True

    def compute(self, predicted: Array, target: Array) -> float:
        """``L = mean((p - y)**2)``: ``p`` and ``y`` of shape ``(N, ...)`` in, a float out."""
        self._error = error = predicted - target
        return dot(error, error) / error.size

    def gradient(self) -> Array:
        """``dL/dp = 2 (p - y) / n`` for ``n`` elements, shape ``(N, ...)`` like ``p``."""
        return self._error * (2.0 / self._error.size)


class MeanAbsoluteError(Loss):
    """Mean of the absolute errors, ``L = mean(|predicted - actual|)``.

    Examples
    --------
    The course's ``weights_0`` predictions against its four targets, ``(8 + 6 + 5 + 5) / 4``:

    >>> MeanAbsoluteError().forward(np.array([[9.0], [9.0], [0.0], [12.0]]), [1, 3, 5, 7])
    6.0
    """

    name = "mean_absolute_error"
    elementwise = True

    def compute(self, predicted: Array, target: Array) -> float:
        """``L = mean(|p - y|)``: ``p`` and ``y`` of shape ``(N, ...)`` in, a float out."""
        self._error = error = predicted - target
        return total(np.abs(error)) / error.size

    def gradient(self) -> Array:
        """``dL/dp = sign(p - y) / n`` (0 where the error is exactly 0), shape ``(N, ...)`` like ``p``."""
        return np.sign(self._error) * (1.0 / self._error.size)
