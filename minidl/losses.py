"""Loss functions: one number that says how wrong the predictions are, and its gradient.

Every loss is a mean over samples, so the learning rate does not depend on the batch
size, and ``backward`` returns ``dL/dpredicted`` with the shape of ``predicted``.

**Target shapes.** ``predicted`` and ``actual`` must have the same shape, with one
convenience: a 1-D target of ``N`` values against a single-output prediction of shape
``(N, 1)`` is read as a column (and a scalar target against a one-value prediction as
that value). Anything else (for instance ``(N,)`` against ``(N, 2)``) is an error: the
two are never broadcast into an ``(N, N)`` table of differences.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from minidl._typing import Array, ArrayLike


def match_target(predicted: Array, actual: ArrayLike, owner: str) -> Array:
    """Return ``actual`` as an array of ``predicted``'s shape and dtype, or raise.

    Accepts equal shapes; ``(N,)`` targets for ``(N, 1)`` predictions (and ``(N, 1)``
    targets for ``(N,)`` predictions); a scalar target for a one-value prediction.
    """
    if type(predicted) is not np.ndarray:
        raise TypeError(f"{owner}: predicted must be a numpy array; got {type(predicted).__name__}")
    target = np.asarray(actual)
    if target.dtype.kind not in "fiub":
        raise TypeError(f"{owner}: actual must hold real numbers; got dtype {target.dtype}")
    if target.shape != predicted.shape:
        p_shape, a_shape = predicted.shape, target.shape
        column = (
            (len(p_shape) == 2 and p_shape[1] == 1 and a_shape == p_shape[:1])
            or (len(a_shape) == 2 and a_shape[1] == 1 and p_shape == a_shape[:1])
            or (a_shape == () and predicted.size == 1)
        )
        if not column:
            raise ValueError(
                f"{owner}: predicted has shape {p_shape} but actual has shape {a_shape}; "
                "they must match (a 1-D target is accepted only for a single-output "
                "prediction of shape (N, 1))"
            )
        target = target.reshape(p_shape)
    if target.dtype != predicted.dtype:
        target = target.astype(predicted.dtype)
    return target


class Loss(ABC):
    """Base class of losses: ``forward(predicted, actual) -> float``, ``backward() -> dL/dpredicted``.

    ``forward`` keeps what ``backward`` needs; ``backward`` takes no argument and returns
    an array shaped like the last ``predicted``. Calling a loss runs ``forward``.
    """

    #: The name used by ``Network.compile`` and in model files.
    name: str = "loss"

    @abstractmethod
    def forward(self, predicted: Array, actual: ArrayLike) -> float:
        """The loss of ``predicted`` against ``actual``, a Python float."""

    @abstractmethod
    def backward(self) -> Array:
        """``dL/dpredicted`` for the last ``forward``, shaped like ``predicted``."""

    def __call__(self, predicted: Array, actual: ArrayLike) -> float:
        """Run ``forward``."""
        return self.forward(predicted, actual)

    def config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this loss."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _not_ready(self) -> RuntimeError:
        return RuntimeError(f"{type(self).__name__}.backward() called before forward()")


class MeanSquaredError(Loss):
    """Mean of the squared errors, ``L = mean((predicted - actual)**2)``.

    The mean runs over every element (samples and outputs), as scikit-learn's
    ``mean_squared_error`` does for one output. With ``n`` elements,
    ``dL/dpredicted = 2 * (predicted - actual) / n``.

    Examples
    --------
    >>> MeanSquaredError().forward(np.array([[9.0], [3.0]]), [3.0, 3.0])
    18.0
    """

    name = "mean_squared_error"

    def __init__(self) -> None:
        self._error: Array | None = None

    def forward(self, predicted: Array, actual: ArrayLike) -> float:
        """``mean((predicted - actual)**2)``: shapes ``(N, k)`` (or ``(k,)``) in, a float out."""
        error = predicted - match_target(predicted, actual, "MeanSquaredError")
        self._error = error
        return float(np.vdot(error, error)) / error.size

    def backward(self) -> Array:
        """``2 * (predicted - actual) / n``, shaped like ``predicted``."""
        error = self._error
        if error is None:
            raise self._not_ready()
        grad: Array = error * (2.0 / error.size)
        return grad


class MeanAbsoluteError(Loss):
    """Mean of the absolute errors, ``L = mean(|predicted - actual|)``.

    ``dL/dpredicted = sign(predicted - actual) / n`` (0 where the error is exactly 0).
    """

    name = "mean_absolute_error"

    def __init__(self) -> None:
        self._error: Array | None = None

    def forward(self, predicted: Array, actual: ArrayLike) -> float:
        """``mean(|predicted - actual|)``: shapes ``(N, k)`` (or ``(k,)``) in, a float out."""
        error = predicted - match_target(predicted, actual, "MeanAbsoluteError")
        self._error = error
        return float(np.add.reduce(np.abs(error), axis=None)) / error.size

    def backward(self) -> Array:
        """``sign(predicted - actual) / n``, shaped like ``predicted``."""
        error = self._error
        if error is None:
            raise self._not_ready()
        grad: Array = np.sign(error) * (1.0 / error.size)
        return grad
