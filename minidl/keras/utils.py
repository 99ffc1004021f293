"""Keras's ``to_categorical``: integer class labels to one-hot rows."""

from __future__ import annotations

import numpy as np

from minidl._typing import Array, ArrayLike
from minidl._validation import check_positive_int, unmasked

__all__ = ["to_categorical"]

#: The most classes inferred from the labels alone (2**20); a larger label is more likely a mistake
#: (a count, an id) than a class index, and its one-hot rows would take gigabytes.
_MOST_CLASSES = 2**20


def to_categorical(y: ArrayLike, num_classes: int | None = None) -> Array:
    """One-hot rows for integer labels, as Keras: ``out[i, k] = 1.0 if y[i] == k else 0.0``.

    Parameters
    ----------
    y
        Class labels ``0, 1, ..., num_classes - 1`` (ints, bools, or floats holding whole
        numbers, such as a pandas column); any shape, a last axis of size 1 is dropped (Keras).
    num_classes
        The number of classes; default ``max(y) + 1``, refused above ``2**20`` (a label such as
        ``10**12`` is not a class index; pass ``num_classes`` to mean that many).

    Returns
    -------
    Array
        float64, shape ``y.shape + (num_classes,)``.

    Examples
    --------
    >>> from minidl.keras import to_categorical
    >>> to_categorical([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
    """
    # np.asarray drops a mask: the hidden labels would count
    labels = unmasked(y, "to_categorical y") if isinstance(y, np.ma.MaskedArray) else np.asarray(y)
    if labels.dtype.kind not in "biuf" or (labels.dtype.kind == "f" and not (
            np.all(np.isfinite(labels)) and np.array_equal(labels, np.round(labels)))):
        raise ValueError(f"to_categorical expects integer class labels 0, 1, 2, ...; got dtype {labels.dtype}"
                         + (" with values that are not whole numbers" if labels.dtype.kind == "f" else ""))
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical expects labels >= 0; got {int(labels.min())}")
    if num_classes is None:
        if not labels.size:
            raise ValueError("to_categorical: no labels; pass num_classes for an empty y")
        num_classes = int(labels.max()) + 1  # a Python int: exact for any label (uint64, whole floats)
        if num_classes > _MOST_CLASSES:
            raise ValueError(f"to_categorical: the largest label, {num_classes - 1}, would make "
                             f"{num_classes:,} classes (more than {_MOST_CLASSES:,}): labels are class "
                             "indices 0, 1, ..., num_classes - 1; pass num_classes=... if you mean that many")
    num_classes = check_positive_int(num_classes, "to_categorical num_classes")
    if labels.size and int(labels.max()) >= num_classes:
        raise ValueError(f"to_categorical: label {int(labels.max())} does not fit num_classes={num_classes} "
                         f"(labels must be 0 to {num_classes - 1})")
    one_hot: Array = (labels.astype(np.int64)[..., None] == np.arange(num_classes)).astype(np.float64)
    return one_hot
