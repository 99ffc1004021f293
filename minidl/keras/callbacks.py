"""Keras's ``keras.callbacks`` path: ``from minidl.keras.callbacks import EarlyStopping, ...``.

minidl's own callbacks (see :mod:`minidl.training`), under the module path the course's
import lines use; ``EarlyStopping``, ``ModelCheckpoint`` and ``ReduceLROnPlateau`` take Keras's
arguments in Keras's order (:class:`EarlyStopping`, :class:`ModelCheckpoint`,
:class:`ReduceLROnPlateau`). ``Callback`` is minidl's base class (:class:`minidl.Callback`): a
subclass overrides ``on_train_begin(logs)``, ``on_epoch_begin(epoch, logs)``,
``on_epoch_end(epoch, logs)``, ``on_batch_end(batch, logs)`` or ``on_train_end(logs)``, and during
``fit`` its ``self.model`` is the Sequential being trained (``self.model.stop_training = True``
stops ``fit`` after the epoch, or the batch from ``on_batch_end``), ``self.params`` what ``fit``
was asked to do.
"""

from __future__ import annotations

import os

from minidl import training
from minidl._validation import check_count
from minidl.training import Callback, CSVLogger, LearningRateScheduler

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "LearningRateScheduler", "ModelCheckpoint",
           "ReduceLROnPlateau"]


class EarlyStopping(training.EarlyStopping):
    """Keras's ``EarlyStopping``: stop ``fit`` when a monitored number has stopped improving.

    :class:`minidl.EarlyStopping` with Keras's argument names, order and defaults:
    ``EarlyStopping(monitor, min_delta, patience, verbose, mode, baseline, restore_best_weights,
    start_from_epoch)`` (minidl's own takes ``patience`` second). ``start_from_epoch``: the
    epochs before it (counted from 0) are not watched, so training does not stop during them.
    ``baseline`` must stay None: minidl does not support it. ``stopped_epoch`` is 0 when training
    did not stop early, as in Keras (minidl's own says None).

    Examples
    --------
    >>> from minidl.keras.callbacks import EarlyStopping
    >>> stop = EarlyStopping("val_loss", 0.01, 3)   # monitor, min_delta, patience, as in Keras
    >>> stop.min_delta, stop.patience
    (0.01, 3)
    """

    config_keys = ("monitor", "min_delta", "patience", "verbose", "mode", "restore_best_weights",
                   "start_from_epoch")

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        _unsupported("EarlyStopping", baseline=(baseline, None))
        super().__init__(monitor, patience, min_delta, restore_best_weights, mode, verbose)
        self.start_from_epoch = check_count(start_from_epoch, "EarlyStopping start_from_epoch")

    def on_train_end(self, logs: dict[str, float]) -> None:
        """As minidl's; then ``stopped_epoch`` is Keras's 0 if training did not stop early."""
        super().on_train_end(logs)
        if self.stopped_epoch is None:
            self.stopped_epoch = 0


class ModelCheckpoint(training.ModelCheckpoint):
    """Keras's ``ModelCheckpoint``: save the model during ``fit``, after every epoch or the best ones.

    :class:`minidl.ModelCheckpoint` with Keras's argument names, order and defaults: by
    default it saves after **every** epoch (minidl's saves only the best by default). The
    file is minidl's model file format whatever its extension, with the optimizer (what
    ``model.save`` writes; :func:`~minidl.keras.load_model` reads it); ``filepath`` may hold
    ``{epoch}`` and the epoch logs' keys, e.g. ``"model-{epoch:02d}-{val_loss:.2f}.keras"``.
    Keras's ``save_weights_only``, ``save_freq`` and ``initial_value_threshold`` are taken in
    their places but must keep their defaults (``False``, ``"epoch"``, ``None``): minidl does not
    support them.

    Examples
    --------
    >>> from minidl.keras import ModelCheckpoint
    >>> ModelCheckpoint(filepath="best.keras", monitor="val_accuracy", save_best_only=True).mode
    'max'
    """

    config_keys = ("filepath", "monitor", "verbose", "save_best_only", "mode")

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch", initial_value_threshold: float | None = None) -> None:
        _unsupported("ModelCheckpoint", save_weights_only=(save_weights_only, False),
                     save_freq=(save_freq, "epoch"), initial_value_threshold=(initial_value_threshold, None))
        super().__init__(filepath, monitor, save_best_only, mode, verbose=verbose)

    @property
    def filepath(self) -> str:
        """The file to write, as given (Keras's name for :attr:`path`)."""
        return self.path


class ReduceLROnPlateau(training.ReduceLROnPlateau):
    """Keras's ``ReduceLROnPlateau``: multiply the learning rate by ``factor`` when a number stalls.

    :class:`minidl.ReduceLROnPlateau` with Keras's argument order and defaults:
    ``ReduceLROnPlateau(monitor, factor, patience, verbose, mode, min_delta, cooldown, min_lr)``
    (minidl's own takes ``mode`` fourth and ``verbose`` last).

    Examples
    --------
    >>> from minidl.keras.callbacks import ReduceLROnPlateau
    >>> reduce = ReduceLROnPlateau("val_loss", 0.5, 3, 1)   # monitor, factor, patience, verbose
    >>> reduce.factor, reduce.patience, reduce.verbose
    (0.5, 3, 1)
    """

    config_keys = ("monitor", "factor", "patience", "verbose", "mode", "min_delta", "cooldown", "min_lr")

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0) -> None:
        super().__init__(monitor, factor, patience, mode, min_delta, cooldown, min_lr, verbose)


def _unsupported(owner: str, **given: tuple[object, object]) -> None:
    """Refuse a Keras argument minidl does not support unless it is its default: ``name=(value, default)``."""
    for name, (value, default) in given.items():
        if value != default:
            raise ValueError(f"{owner} {name}: minidl does not support it, so it must be {default!r}; "
                             f"got {value!r}")
