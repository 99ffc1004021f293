"""Loss functions: one number that says how wrong the predictions are, and its gradient.

Every loss is a mean over samples, so the learning rate does not depend on the batch
size, and ``backward`` returns ``dL/dpredicted`` with the shape of ``predicted``.

**Target shapes.** ``predicted`` and ``actual`` must have the same shape, with one
convenience: a 1-D target of ``N`` values against a single-output prediction of shape
``(N, 1)`` is read as a column (and a scalar target against a one-value prediction as
that value). Anything else (for instance ``(N,)`` against ``(N, 2)``) is an error: the
two are never broadcast into an ``(N, N)`` table of differences.

The modules: :mod:`~minidl.losses.base` (``Loss``, ``match_target``),
:mod:`~minidl.losses.regression` (mean squared and absolute error) and
:mod:`~minidl.losses.cross_entropy` (binary, categorical and sparse cross-entropy).
"""

from minidl._validation import class_by_name
from minidl.losses.base import Loss, match_target
from minidl.losses.cross_entropy import (
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    SparseCategoricalCrossEntropy,
)
from minidl.losses.regression import MeanAbsoluteError, MeanSquaredError

__all__ = ["LOSSES", "BinaryCrossEntropy", "CategoricalCrossEntropy", "Loss", "MeanAbsoluteError",
           "MeanSquaredError", "SparseCategoricalCrossEntropy", "get_loss", "match_target"]

#: Loss names accepted by ``Network.compile`` (and ``get_loss``), Keras's spellings.
LOSSES: dict[str, type[Loss]] = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossEntropy, "categorical_crossentropy": CategoricalCrossEntropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossEntropy,
}


def get_loss(loss: str | Loss) -> Loss:
    """A loss from its name (see ``LOSSES``); a :class:`Loss` object is returned as is.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.

    Examples
    --------
    >>> get_loss("categorical_crossentropy")
    CategoricalCrossEntropy(from_logits=False, epsilon=1e-07)
    """
    if isinstance(loss, Loss):
        return loss
    return class_by_name(LOSSES, loss, "loss", "a Loss object")
