"""Callbacks that change the optimizer's learning rate during ``fit``, as Keras's.

* :class:`LearningRateScheduler`: ``schedule(epoch, lr)`` gives each epoch's rate;
* :class:`ReduceLROnPlateau`: divide the rate when a monitored number stops improving.

While either is among ``fit``'s callbacks, every epoch's logs (so the History, the
progress line and a :class:`~minidl.training.callbacks.CSVLogger`) hold ``learning_rate``:
the rate the epoch trained with (as Keras 3 logs it).
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable

import numpy as np

from minidl._validation import check_count, check_real, check_verbose
from minidl.optimizers import Optimizer
from minidl.training.callbacks import Callback, Monitor


def _optimizer(callback: Callback) -> Optimizer:
    """The optimizer of the network ``callback`` is attached to, or an error naming the callback."""
    trainer = None if callback.network is None else callback.network.trainer
    if trainer is None:
        raise RuntimeError(f"{type(callback).__name__} needs a compiled network: it is used inside fit()")
    return trainer.optimizer


def _takes_lr(schedule: Callable[..., float]) -> bool:
    """Whether ``schedule`` is called as ``(epoch, lr)`` rather than ``(epoch)``; an error if neither fits."""
    try:
        signature = inspect.signature(schedule)
    except (TypeError, ValueError):  # no signature to read (some built-ins): called as Keras calls it
        return True
    for arguments in ((0, 0.1), (0,)):
        with contextlib.suppress(TypeError):  # bind raises TypeError when the arguments do not fit
            signature.bind(*arguments)
            return len(arguments) == 2
    raise TypeError(f"LearningRateScheduler schedule must take (epoch, lr) or (epoch); got {schedule!r}, "
                    f"which takes {signature}")


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch from ``schedule(epoch, lr)``.

    Parameters
    ----------
    schedule
        A function ``(epoch, lr) -> new lr``: ``epoch`` counted from 0, ``lr`` the
        optimizer's current learning rate; or ``(epoch) -> new lr``, which Keras accepts
        too (its older form). Its result must be a finite number ``>= 0``.
    verbose
        0: silent; 1 or 2 print the rate set at each epoch.

    Examples
    --------
    Keep the rate for 10 epochs, then divide it by 10 every 10 epochs:

    >>> scheduler = LearningRateScheduler(lambda epoch, lr: lr / 10 if epoch and epoch % 10 == 0 else lr)
    """

    config_keys = ("schedule", "verbose")
    logs_learning_rate = True

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler schedule must be a function (epoch, lr) -> lr; "
                            f"got {schedule!r}")
        self.schedule, self.verbose = schedule, check_verbose(verbose, "LearningRateScheduler verbose")
        self._takes_lr = _takes_lr(schedule)

    def on_epoch_begin(self, epoch: int, logs: dict[str, float]) -> None:
        """Set the optimizer's learning rate to ``schedule(epoch, lr)`` (or ``schedule(epoch)``)."""
        optimizer = _optimizer(self)
        value = self.schedule(epoch, optimizer.learning_rate) if self._takes_lr else self.schedule(epoch)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"LearningRateScheduler schedule must return a number; got {value!r} "
                            f"at epoch {epoch}")
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"LearningRateScheduler schedule returned {value!r} at epoch {epoch}: a "
                             "learning rate must be a finite number >= 0")
        optimizer.learning_rate = float(value)
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(value)}.")


class ReduceLROnPlateau(Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` has stopped improving.

    Keras's algorithm, after each epoch: during a cooldown (``cooldown`` epochs after a
    reduction) the cooldown counter goes down by one and ``wait`` is 0; an improvement
    (by more than ``min_delta``, as :class:`~minidl.training.callbacks.Monitor`) becomes
    the best and sets ``wait`` to 0; otherwise, out of cooldown, ``wait`` grows by one, and
    when it reaches ``patience`` the rate becomes ``max(lr * factor, min_lr)`` (only if
    ``lr > min_lr``), the cooldown starts and ``wait`` is 0 again.

    Parameters
    ----------
    monitor, mode, min_delta
        What to watch, as in :class:`~minidl.training.callbacks.Monitor` (a name missing
        from the logs is an error).
    factor
        What the rate is multiplied by, in ``[0, 1)``.
    patience
        Epochs without improvement before a reduction (an integer ``>= 0``).
    cooldown
        Epochs after a reduction during which misses are not counted.
    min_lr
        The rate never goes below it.
    verbose
        1 or 2 prints a line at each reduction.

    Attributes
    ----------
    best : float
        The best value seen (reset at each ``fit``'s start, with ``wait`` and the cooldown).
    wait, cooldown_counter : int
        The epochs without improvement counted so far; the cooldown epochs left.

    Examples
    --------
    >>> plateau = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3, min_lr=1e-5)
    """

    config_keys = ("monitor", "factor", "patience", "mode", "min_delta", "cooldown", "min_lr", "verbose")
    logs_learning_rate = True

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, mode: str = "auto",
                 min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0, verbose: int = 0) -> None:
        super().__init__(monitor, mode, min_delta, verbose)
        self.factor = check_real(factor, "ReduceLROnPlateau factor", low=0.0)
        if self.factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau factor must be < 1 (the learning rate is multiplied by "
                             f"it); got {factor!r}")
        self.patience = check_count(patience, "ReduceLROnPlateau patience")
        self.cooldown = check_count(cooldown, "ReduceLROnPlateau cooldown")
        self.min_lr = check_real(min_lr, "ReduceLROnPlateau min_lr", low=0.0)
        self.on_train_begin({})

    def on_train_begin(self, logs: dict[str, float]) -> None:
        """Forget the best value, the wait and the cooldown."""
        self.reset_best()
        self.wait = self.cooldown_counter = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Count the epoch as an improvement or a miss; reduce the rate after ``patience`` misses."""
        value = self.monitored(logs)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            optimizer = _optimizer(self)
            if self.wait >= self.patience and optimizer.learning_rate > self.min_lr:
                optimizer.learning_rate = max(optimizer.learning_rate * self.factor, self.min_lr)
                self.cooldown_counter, self.wait = self.cooldown, 0
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                          f"{optimizer.learning_rate}.")
