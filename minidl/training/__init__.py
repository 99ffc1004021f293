"""Keras-style training: what ``Network.compile``, ``fit``, ``evaluate``, ``train_step`` run.

One concept a module, read in this order:

* :mod:`~minidl.training.step`: one training step (forward, the loss fused with a final
  Softmax/Sigmoid, backward);
* :mod:`~minidl.training.data`: the data checked once, the validation split, the batches;
* :mod:`~minidl.training.trainer`: the :class:`Trainer` that ``compile`` makes, holding the
  training state, and ``fit`` in named parts;
* :mod:`~minidl.training.callbacks`: :class:`Callback`, :class:`History`, the shared
  :class:`Monitor`, :class:`EarlyStopping`, :class:`ModelCheckpoint`, :class:`CSVLogger`, and the
  progress output;
* :mod:`~minidl.training.learning_rate`: :class:`LearningRateScheduler`, :class:`ReduceLROnPlateau`;
* :mod:`~minidl.training.interrupts`: :class:`InterruptGuard` (Ctrl-C held until a safe point).

This package never imports :mod:`minidl.network`: the network hands itself over.
"""

from minidl.training.callbacks import (
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    ModelCheckpoint,
    Monitor,
)
from minidl.training.interrupts import InterruptGuard
from minidl.training.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from minidl.training.trainer import Trainer, loss_and_backward, require_trainer

__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History", "InterruptGuard",
           "LearningRateScheduler", "ModelCheckpoint", "Monitor", "ReduceLROnPlateau", "Trainer",
           "loss_and_backward", "require_trainer"]
