"""Keras's ``keras.losses`` path: ``from minidl.keras.losses import SparseCategoricalCrossentropy``.

minidl's own losses (see :mod:`minidl.losses`) under Keras 3's class names, which spell
``Crossentropy`` where minidl writes ``CrossEntropy``. They are the same classes
(``SparseCategoricalCrossentropy is minidl.SparseCategoricalCrossEntropy``), so a model compiled
with one saves and loads as any other. Pass ``from_logits`` by name: a
cross-entropy's second argument is minidl's ``epsilon`` (the clipping of probabilities), not
Keras's ``label_smoothing``, which minidl does not have.
"""

from minidl.losses import BinaryCrossEntropy as BinaryCrossentropy
from minidl.losses import CategoricalCrossEntropy as CategoricalCrossentropy
from minidl.losses import MeanAbsoluteError, MeanSquaredError
from minidl.losses import SparseCategoricalCrossEntropy as SparseCategoricalCrossentropy

__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "MeanAbsoluteError", "MeanSquaredError",
           "SparseCategoricalCrossentropy"]
