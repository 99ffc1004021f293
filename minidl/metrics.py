"""Metrics as plain functions, with scikit-learn's argument order ``(y_true, y_pred)``."""

from __future__ import annotations

import numpy as np

from minidl._typing import Array, ArrayLike
from minidl._validation import as_float_array
from minidl.losses import match_target


def _pair(y_true: ArrayLike, y_pred: ArrayLike, owner: str) -> tuple[Array, Array]:
    predicted = as_float_array(y_pred, f"{owner} y_pred")
    actual = as_float_array(y_true, f"{owner} y_true", dtype=predicted.dtype)
    return predicted, match_target(predicted, actual, owner)


def mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """``mean((y_true - y_pred)**2)`` over every element.

    Shapes as for :class:`~minidl.MeanSquaredError` (a 1-D ``y_true`` against a
    ``(N, 1)`` ``y_pred`` is read as a column).

    Examples
    --------
    >>> mean_squared_error([1, 3, 5, 7], [[9], [9], [0], [12]])
    37.5
    """
    predicted, actual = _pair(y_true, y_pred, "mean_squared_error")
    error = predicted - actual
    return float(np.vdot(error, error)) / error.size


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """``mean(|y_true - y_pred|)`` over every element.

    Examples
    --------
    >>> mean_absolute_error([1, 3], [2, 1])
    1.5
    """
    predicted, actual = _pair(y_true, y_pred, "mean_absolute_error")
    total = float(np.add.reduce(np.abs(predicted - actual), axis=None))
    return total / predicted.size
