"""Keras's ``keras.losses`` path: ``from minidl.keras.losses import SparseCategoricalCrossentropy``.

Keras 3's class names, which spell ``Crossentropy`` where minidl writes ``CrossEntropy``. Each
cross-entropy makes minidl's own loss (``SparseCategoricalCrossentropy(from_logits=True)`` is a
:class:`minidl.SparseCategoricalCrossEntropy`), so a model compiled with it saves and loads as
any other. They take ``from_logits`` only: Keras's second argument, ``label_smoothing``, is
refused rather than read as minidl's second, ``epsilon`` (a silent difference of the loss).
"""

from minidl.losses import (
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    MeanAbsoluteError,
    MeanSquaredError,
    SparseCategoricalCrossEntropy,
)

__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "MeanAbsoluteError", "MeanSquaredError",
           "SparseCategoricalCrossentropy"]


def BinaryCrossentropy(from_logits: bool = False) -> BinaryCrossEntropy:
    """Keras's ``BinaryCrossentropy``: :class:`minidl.BinaryCrossEntropy` (``from_logits`` as in Keras)."""
    return BinaryCrossEntropy(from_logits=from_logits)


def CategoricalCrossentropy(from_logits: bool = False) -> CategoricalCrossEntropy:
    """Keras's ``CategoricalCrossentropy``: :class:`minidl.CategoricalCrossEntropy`."""
    return CategoricalCrossEntropy(from_logits=from_logits)


def SparseCategoricalCrossentropy(from_logits: bool = False) -> SparseCategoricalCrossEntropy:
    """Keras's ``SparseCategoricalCrossentropy``: :class:`minidl.SparseCategoricalCrossEntropy`."""
    return SparseCategoricalCrossEntropy(from_logits=from_logits)
