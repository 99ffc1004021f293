"""Keras's names on minidl: run the Keras course's code with only its import lines changed.

(And ``SGD(lr=...)``, Keras's old name, written ``SGD(learning_rate=...)``, as Keras 3 needs.)

``from minidl.keras import Sequential, Dense, Activation, Input, to_categorical, load_model,
EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler, CSVLogger, SGD, Adam,
AdamW, RMSprop``; or Keras's module paths with ``minidl.`` in front (``from minidl.keras.models
import Sequential``, ``minidl.keras.layers``, ``.optimizers``, ``.losses``, ``.callbacks``,
``.utils``).
What is built is an ordinary minidl :class:`~minidl.Network` of ordinary layers
(``model.network``). What differs from Keras:

* ``minidl.keras.Dense(units)`` is Keras's (outputs only, inputs inferred); ``minidl.Dense(in, out)``
  is PyTorch's order.
* Images are channels first (NCHW): ``input_shape=(channels, height, width)``. So
  ``activation="softmax"`` on images (Conv2D's, or an ``Activation`` after it) is refused:
  minidl's Softmax normalises the last axis, the width, where Keras's normalises the channels;
  and ``BatchNormalization`` refuses samples of rank 2 (Keras normalises their last axis).
* ``model.save`` writes, and ``load_model`` reads, minidl's model file format whatever the
  extension (a ``.h5`` file from here is not HDF5; Keras's own files cannot be read, and
  ``load_model`` says so when given one).
* ``Adam`` and ``AdamW`` are minidl's, with PyTorch's ``epsilon=1e-8`` by default (Keras's is
  ``1e-7``); pass ``epsilon=1e-7`` for Keras's. ``RMSprop``'s default is Keras's ``1e-7``,
  but its third argument is ``epsilon`` (Keras's is ``momentum``, which minidl's has not): pass
  the arguments by name. ``weight_decay`` follows torch.optim (``g + wd * w`` added to the
  gradient; ``AdamW`` decoupled, default ``0.01``), not Keras 3 (decay applied to the weights
  apart from the gradient, ``AdamW``'s default ``0.004``): the same for plain SGD, not with
  momentum, nor for Adam.
* ``RMSprop`` and ``Adam`` follow torch.optim's formulas, ``epsilon`` added after the square
  root (``g / (sqrt(v) + eps)``); Keras's RMSprop adds it inside (``g / sqrt(v + eps)``) and
  Keras's Adam after the bias correction. The steps differ where ``v`` is near ``epsilon``
  (gradients of about 1e-3 and below), so the losses printed differ in their last digits.
* ``metrics=["accuracy"]`` takes its kind from the loss, as Keras 2 did: binary for
  ``binary_crossentropy`` (logits compared with 0 when ``from_logits=True``, where Keras
  compares them with 0.5), categorical, or sparse. Keras 3 picks by the shapes: the same for
  one sigmoid output and for softmax, but over several sigmoid outputs (several labels a
  sample) it reports the argmax's categorical accuracy, where minidl counts each output.
* ``model.layers`` lists minidl layers: ``Dense(32, activation="relu")`` is a Dense and a ReLU.
* ``ModelCheckpoint`` is Keras's (``filepath=``, every epoch unless ``save_best_only=True``);
  ``minidl.ModelCheckpoint(path)`` saves only the best epochs by default.
* ``EarlyStopping`` takes Keras's order (``monitor, min_delta, patience, ...``, and
  ``start_from_epoch``); ``minidl.EarlyStopping`` takes ``patience`` second. ``baseline`` is
  refused (not supported); ``stopped_epoch`` is 0 when ``fit`` did not stop early, as in Keras
  (``minidl.EarlyStopping`` says None). ``ReduceLROnPlateau`` takes Keras's order too
  (``verbose`` fourth); ``minidl.ReduceLROnPlateau`` takes ``mode`` fourth.
* ``minidl.keras.losses`` has Keras's class names (``SparseCategoricalCrossentropy``, ...) for
  minidl's losses; its cross-entropies take ``from_logits`` only (Keras's ``label_smoothing``
  is refused).
"""

from minidl.keras import callbacks as callbacks  # Keras's module paths: keras.optimizers.Adam, ...
from minidl.keras import losses as losses
from minidl.keras import models as models
from minidl.keras import optimizers as optimizers
from minidl.keras.callbacks import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from minidl.keras.layers import (
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Input,
    KerasLayer,
    MaxPooling2D,
)
from minidl.keras.model import Sequential, load_model
from minidl.keras.utils import to_categorical
from minidl.optimizers import SGD, Adam, AdamW, RMSprop
from minidl.training import CSVLogger, LearningRateScheduler

__all__ = ["SGD", "Activation", "Adam", "AdamW", "AveragePooling2D", "BatchNormalization", "CSVLogger",
           "Conv2D", "Dense", "Dropout", "EarlyStopping", "Flatten", "Input", "KerasLayer",
           "LearningRateScheduler", "MaxPooling2D", "ModelCheckpoint", "RMSprop", "ReduceLROnPlateau",
           "Sequential", "load_model", "to_categorical"]
