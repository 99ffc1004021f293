"""Metrics as plain functions, with scikit-learn's argument order ``(y_true, y_pred)``.

Each public function checks its arguments (finite real arrays; the target shapes the
losses accept), then computes on the arrays: the errors with the losses' own ``compute``
(``MeanSquaredError().compute(predicted, target)``), the accuracies with the unchecked
``_binary_accuracy`` and so on, ``(predicted, target) -> float``, which the training loop
calls on its data, checked once up front. :func:`resolve` picks that function for a
compiled metric (``"accuracy"`` becomes binary, categorical or sparse from the loss).

Examples
--------
>>> from minidl import metrics
>>> metrics.mean_squared_error([1, 3, 5, 7], [[9], [9], [0], [12]])  # the course's 37.5
37.5
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from minidl import losses
from minidl._typing import Array, ArrayLike
from minidl._validation import as_float_array, check_real
from minidl.losses.base import one_number
from minidl.losses.cross_entropy import check_unit_interval

#: A metric computed in the training loop: ``(predicted, target) -> float`` on checked arrays.
MetricFunction = Callable[[Array, Any], float]

#: A compiled metric: ``(name as given, kind)``, the kind a lower-case name or the function.
Metric = tuple[str, str | Callable[..., float]]

#: Metric names accepted by ``Network.compile``.
NAMES = ("accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
         "mean_squared_error", "mse", "mean_absolute_error", "mae")


def _pair(y_true: ArrayLike, y_pred: ArrayLike, owner: str) -> tuple[Array, Array]:
    predicted = as_float_array(y_pred, f"{owner} y_pred")
    actual = as_float_array(y_true, f"{owner} y_true", dtype=predicted.dtype)
    return predicted, losses.match_target(predicted, actual, owner)


def mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """``mean((y_true - y_pred)**2)`` over every element.

    Shapes as for :class:`~minidl.MeanSquaredError` (a 1-D ``y_true`` against a
    ``(N, 1)`` ``y_pred`` is read as a column).

    Examples
    --------
    >>> mean_squared_error([1, 3, 5, 7], [[9], [9], [0], [12]])
    37.5
    """
    return losses.MeanSquaredError().compute(*_pair(y_true, y_pred, "mean_squared_error"))


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """``mean(|y_true - y_pred|)`` over every element.

    Examples
    --------
    >>> mean_absolute_error([1, 3], [2, 1])
    1.5
    """
    return losses.MeanAbsoluteError().compute(*_pair(y_true, y_pred, "mean_absolute_error"))


def binary_accuracy(y_true: ArrayLike, y_pred: ArrayLike, threshold: float = 0.5) -> float:
    """The fraction of elements where ``y_pred > threshold`` agrees with the 0/1 ``y_true``.

    For yes/no outputs (a network ending in Sigmoid). ``y_true`` is read as 1 where it
    is ``>= 0.5``; values outside ``[0, 1]`` are refused (they are not labels), here and for
    ``metrics=["accuracy"]`` when it is binary. Shapes as for :func:`mean_squared_error`.
    Use ``threshold=0`` for logits.

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
    ``argmax`` along the last axis. One unit (``k = 1``) is refused: its argmax is always 0
    (use :func:`binary_accuracy`), here and for :func:`sparse_categorical_accuracy`.

    Examples
    --------
    >>> categorical_accuracy([[0, 1], [1, 0], [0, 1]], [[0.2, 0.8], [0.3, 0.7], [0.4, 0.6]])
    0.6666666666666666
    """
    predicted, actual = _pair(y_true, y_pred, "categorical_accuracy")
    if predicted.ndim == 0:
        raise ValueError("categorical_accuracy: y_pred must have a class axis (N, k) or (k,); got a scalar")
    _check_classes(predicted.shape[-1], "categorical_accuracy: y_pred")
    return _categorical_accuracy(predicted, actual)


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
    owner = "sparse_categorical_accuracy"
    if predicted.ndim:  # the metric's own reason first (the loss's check refuses one unit too)
        _check_classes(predicted.shape[-1], f"{owner}: y_pred")
    labels = losses.SparseCategoricalCrossEntropy().check_target(predicted, y_true, owner)
    return _sparse_categorical_accuracy(predicted, labels)


def _check_classes(width: int, owner: str) -> None:
    """Refuse a categorical accuracy over one output unit (``owner`` names it): its argmax is always 0."""
    if width == 1:
        raise ValueError(f"{owner} has a single unit, so its argmax is always class 0, as is the target's, "
                         "and every sample counts as a hit; categorical accuracy needs one unit per class "
                         "(for one yes/no unit use binary_accuracy, or metrics=['accuracy'])")


# Array versions without checks, for the training loop (its data is checked once, up front).


def _binary_accuracy(predicted: Array, actual: Array, threshold: float = 0.5) -> float:
    # Labels of 36.5 or -1 would be read as 1 or 0 into a number that means nothing
    check_unit_interval(actual, "y_true (labels 0 or 1; a regression has 'mae' or 'mse')", "binary accuracy")
    return int(np.count_nonzero((predicted > threshold) == (actual >= 0.5))) / predicted.size


def _categorical_accuracy(predicted: Array, actual: Array) -> float:
    return _sparse_categorical_accuracy(predicted, np.argmax(actual, axis=-1))  # one-hot rows to labels


def _sparse_categorical_accuracy(predicted: Array, labels: npt.NDArray[Any]) -> float:
    hits = int(np.count_nonzero(np.argmax(predicted, axis=-1) == labels))
    return hits / max(int(predicted.size // predicted.shape[-1]), 1)


def resolve(kind: str | Callable[..., float], loss: losses.Loss, output_width: int) -> MetricFunction:
    """The fast ``(predicted, target) -> float`` for a compiled metric (a name of ``NAMES`` or a function).

    ``"accuracy"`` picks its kind from the loss, as Keras 2 did (Keras 3 reads the shapes; see
    :mod:`minidl.keras`): binary for binary cross-entropy or a single output, sparse for integer
    labels, else categorical.
    """
    if not isinstance(kind, str):
        user, what = kind, f"the metric {_name(kind)!r}"
        return lambda predicted, target: one_number(user(target, predicted), what)
    sparse = isinstance(loss, losses.SparseCategoricalCrossEntropy)
    if kind in ("accuracy", "acc"):
        one_output = output_width == 1 and not isinstance(loss, losses.CategoricalCrossEntropy)
        binary = isinstance(loss, losses.BinaryCrossEntropy) or one_output
        kind = "binary_accuracy" if binary and not sparse else "categorical_accuracy"
    if kind == "binary_accuracy" and not sparse:  # (labels fall to the error below)
        # Logits are positive exactly where the probability is above 0.5.
        threshold = 0.0 if isinstance(loss, losses.BinaryCrossEntropy) and loss.from_logits else 0.5
        return lambda predicted, target: _binary_accuracy(predicted, target, threshold)
    if kind == "sparse_categorical_accuracy" and not sparse:
        raise ValueError("the sparse_categorical_accuracy metric needs integer labels: use it with "
                         "loss='sparse_categorical_crossentropy' (or 'categorical_accuracy' for one-hot)")
    if kind in ("categorical_accuracy", "sparse_categorical_accuracy"):
        _check_classes(output_width, f"the {kind} metric: the network's output")
        return _sparse_categorical_accuracy if sparse else _categorical_accuracy
    if sparse:
        raise ValueError(f"the {kind} metric needs targets shaped like the output; with integer labels "
                         "(sparse_categorical_crossentropy) use 'accuracy'")
    error = losses.MeanSquaredError() if kind in ("mean_squared_error", "mse") else losses.MeanAbsoluteError()
    return error.compute


def compiled(metrics: Sequence[str | Callable[..., float]] | None) -> list[Metric]:
    """``(name as given, kind)`` for each metric of ``compile``: a name of ``NAMES`` or a function."""
    if isinstance(metrics, str) or not isinstance(metrics, Sequence | None):
        raise TypeError(f"compile metrics must be a list of names or functions; got {metrics!r}")
    resolved: list[Metric] = []
    for metric in metrics or []:
        if isinstance(metric, str) and metric.lower() not in NAMES:
            raise ValueError(f"unknown metric {metric!r}; valid names: {', '.join(map(repr, NAMES))}, or a "
                             "function (y_true, y_pred) -> float")
        if not isinstance(metric, str) and not callable(metric):
            raise TypeError(f"compile metrics: each metric must be a name or a function; got {metric!r}")
        resolved.append((metric, metric.lower()) if isinstance(metric, str) else (_name(metric), metric))
    names = [name for name, _ in resolved]
    if len(set(names)) < len(names) or "loss" in names:
        raise ValueError(f"compile metrics: names must be unique and not 'loss'; got {names}")
    return resolved


def _name(metric: Callable[..., float]) -> str:
    """A metric function's name in the History: its ``__name__`` (its class's for a callable object)."""
    return getattr(metric, "__name__", type(metric).__name__)
