"""Keras's ``keras.callbacks`` path: ``from minidl.keras.callbacks import EarlyStopping, ...``.

minidl's own callbacks (see :mod:`minidl.training`), under the module path the course's
import lines use; ``ModelCheckpoint`` takes Keras's arguments (:class:`ModelCheckpoint`).
"""

from __future__ import annotations

import os

from minidl import training
from minidl.training import CSVLogger, EarlyStopping, LearningRateScheduler, ReduceLROnPlateau

__all__ = ["CSVLogger", "EarlyStopping", "LearningRateScheduler", "ModelCheckpoint", "ReduceLROnPlateau"]


class ModelCheckpoint(training.ModelCheckpoint):
    """Keras's ``ModelCheckpoint``: save the model during ``fit``, after every epoch or the best ones.

    :class:`minidl.ModelCheckpoint` with Keras's argument names, order and defaults: by
    default it saves after **every** epoch (minidl's saves only the best by default). The
    file is minidl's model file format whatever its extension, with the optimizer (what
    ``model.save`` writes; :func:`~minidl.keras.load_model` reads it); ``filepath`` may hold
    ``{epoch}`` and the epoch logs' keys, e.g. ``"model-{epoch:02d}-{val_loss:.2f}.keras"``.
    Keras's ``save_weights_only``, ``save_freq`` and ``initial_value_threshold`` are not taken.

    Examples
    --------
    >>> from minidl.keras import ModelCheckpoint
    >>> ModelCheckpoint(filepath="best.keras", monitor="val_accuracy", save_best_only=True).mode
    'max'
    """

    config_keys = ("filepath", "monitor", "verbose", "save_best_only", "mode")

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, mode: str = "auto") -> None:
        super().__init__(filepath, monitor, save_best_only, mode, verbose=verbose)

    @property
    def filepath(self) -> str:
        """The file to write, as given (Keras's name for :attr:`path`)."""
        return self.path
