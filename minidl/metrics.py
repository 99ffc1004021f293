"""Metrics as plain functions, with scikit-learn's argument order ``(y_true, y_pred)``.

Each public function checks its arguments (finite real arrays; the target shapes the
losses accept), then computes on the arrays: the errors with the losses' own ``compute``
(``MeanSquaredError().compute(predicted, target)``), the accuracies with the unchecked
``_binary_accuracy`` and so on, ``(predicted, target) -> float``, which the training loop
calls on its data, checked once up front.

Examples
--------
>>> from minidl import metrics
>>> metrics.mean_squared_error([1, 3, 5, 7], [[9], [9], [0], [12]])  # the course's 37.5
37.5
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from minidl._typing import Array, ArrayLike
from minidl._validation import as_float_array, check_real
from minidl.losses import MeanAbsoluteError, MeanSquaredError, SparseCategoricalCrossEntropy, match_target


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
    return MeanSquaredError().compute(*_pair(y_true, y_pred, "mean_squared_error"))


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """``mean(|y_true - y_pred|)`` over every element.

    Examples
    --------
    >>> mean_absolute_error([1, 3], [2, 1])
    1.5
    """
    return MeanAbsoluteError().compute(*_pair(y_true, y_pred, "mean_absolute_error"))


def binary_accuracy(y_true: ArrayLike, y_pred: ArrayLike, threshold: float = 0.5) -> float:
    """The fraction of elements where ``y_pred > threshold`` agrees with the 0/1 ``y_true``.

    For yes/no outputs (a network ending in Sigmoid). ``y_true`` is read as 1 where it
    is ``>= 0.5``. Shapes as for :func:`mean_squared_error`. Use ``threshold=0`` for
    logits.

    Examples
    --------
    >>> binary_accuracy([1, 0, 1, 0], [[0.9], [0.2], [0.4], [0.6]])
    0.5
    """
    threshold = check_real(threshold, "binary_accuracy threshold")
    return _binary_accuracy(*_pair(y_true, y_pred, "binary_accuracy"), threshold)


def categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The fraction of samples whose most probable class is the one-hot target's class.

    ``y_true`` and ``y_pred`` have shape ``(N, k)`` (or ``(k,)`` for one sample); compares
    ``argmax`` along the last axis.

    Examples
    --------
    >>> categorical_accuracy([[0, 1], [1, 0], [0, 1]], [[0.2, 0.8], [0.3, 0.7], [0.4, 0.6]])
    0.6666666666666666
    """
    return _categorical_accuracy(*_pair(y_true, y_pred, "categorical_accuracy"))


def sparse_categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The fraction of samples whose most probable class equals the integer label.

    ``y_true``: labels of shape ``(N,)`` (or ``(N, 1)``), whole numbers in ``[0, k)``,
    checked as :class:`~minidl.SparseCategoricalCrossEntropy` checks them; ``y_pred``: ``(N, k)``.

    Examples
    --------
    >>> sparse_categorical_accuracy([1, 0, 1], [[0.2, 0.8], [0.3, 0.7], [0.4, 0.6]])
    0.6666666666666666
    """
    predicted = as_float_array(y_pred, "sparse_categorical_accuracy y_pred")
    labels = SparseCategoricalCrossEntropy().check_target(predicted, y_true, "sparse_categorical_accuracy")
    return _sparse_categorical_accuracy(predicted, labels)


# Array versions without checks, for the training loop (its data is checked once, up front).


def _binary_accuracy(predicted: Array, actual: Array, threshold: float = 0.5) -> float:
    hits = int(np.count_nonzero((predicted > threshold) == (actual >= 0.5)))
    return hits / predicted.size


def _categorical_accuracy(predicted: Array, actual: Array) -> float:
    hits = int(np.count_nonzero(np.argmax(predicted, axis=-1) == np.argmax(actual, axis=-1)))
    return hits / max(int(predicted.size // predicted.shape[-1]), 1)


def _sparse_categorical_accuracy(predicted: Array, labels: npt.NDArray[Any]) -> float:
    hits = int(np.count_nonzero(np.argmax(predicted, axis=-1) == labels))
    return hits / max(int(predicted.size // predicted.shape[-1]), 1)
