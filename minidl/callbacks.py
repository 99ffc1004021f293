"""Callbacks: code that ``Network.fit`` runs at fixed points of training.

A callback subclasses :class:`Callback` and overrides any of ``on_train_begin``,
``on_epoch_begin``, ``on_batch_end``, ``on_epoch_end``, ``on_train_end``. During ``fit``
its ``network`` attribute is the network being trained, and ``logs`` is a dict of the
numbers known at that point:

* ``on_epoch_end``: the epoch's ``loss`` (the mean over the epoch's batches, weighted by
  batch size), each metric, and ``val_loss`` / ``val_<metric>`` when there is
  validation data (computed after the epoch, in evaluation mode);
* ``on_batch_end``: the running ``loss`` and metrics of the epoch so far, and ``size``,
  the batch's sample count;
* ``on_train_begin`` / ``on_train_end`` / ``on_epoch_begin``: an empty dict (the last
  epoch's logs at ``on_train_end``).

A callback stops training with ``self.request_stop(reason)``: ``fit`` finishes the
current epoch's bookkeeping, then stops, and the reason appears in
``History.stop_reason`` (and is printed when ``verbose > 0``).

``fit`` only calls ``on_batch_end`` on callbacks that override it, so callbacks that
work per epoch cost nothing per batch.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from minidl._validation import check_real

if TYPE_CHECKING:
    from minidl.network import Network


class Callback:
    """Base class of callbacks: every hook does nothing until overridden.

    Attributes
    ----------
    network : Network or None
        The network being trained (set by ``fit`` before ``on_train_begin``).
    params : dict
        What ``fit`` was asked to do: ``epochs``, ``batch_size``, ``steps`` (batches per
        epoch), ``samples`` (training samples) and ``verbose``.

    Examples
    --------
    >>> class PrintLoss(Callback):
    ...     def on_epoch_end(self, epoch, logs):
    ...         print(f"epoch {epoch}: loss {logs['loss']:.3f}")
    """

    def __init__(self) -> None:
        self.network: Network | None = None
        self.params: dict[str, Any] = {}

    def config(self) -> dict[str, Any]:
        """The constructor arguments (none for the base class)."""
        return {}

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.config().items())
        return f"{type(self).__name__}({arguments})"

    def set_network(self, network: Network, params: dict[str, Any]) -> None:
        """Attach the callback to ``network`` for one ``fit`` (called by ``fit``)."""
        self.network = network
        self.params = params

    def request_stop(self, reason: str) -> None:
        """Ask ``fit`` to stop after the current epoch, saying why (kept in ``History.stop_reason``)."""
        if self.network is None:
            raise RuntimeError(f"{type(self).__name__}.request_stop() called outside fit()")
        self.network.stop_training = True
        if self.network.stop_reason is None:
            self.network.stop_reason = reason

    def on_train_begin(self, logs: dict[str, float]) -> None:
        """Called once, before the first epoch."""

    def on_train_end(self, logs: dict[str, float]) -> None:
        """Called once, after the last epoch (also after an early or NaN stop)."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, float]) -> None:
        """Called at the start of epoch ``epoch`` (counted from 0)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Called after epoch ``epoch`` with its ``loss``, metrics and validation numbers."""

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        """Called after each training batch (``batch`` counted from 0 in each epoch)."""


class History(Callback):
    """The per-epoch record of a ``fit``, returned by it (as Keras's ``History``).

    Attributes
    ----------
    history : dict[str, list[float]]
        One list per logged quantity, one entry per completed epoch: ``loss``, each
        metric, and ``val_loss`` and ``val_<metric>`` when there is validation data.
    epoch : list[int]
        The completed epochs, counted from 0.
    stop_reason : str or None
        Why training stopped before ``epochs`` epochs (early stopping, a NaN/inf loss),
        or None when it ran them all.

    Examples
    --------
    >>> net = Network([Dense(1, 1, weight_init="zeros")])
    >>> net.compile(optimizer=SGD(0.1), loss="mse")
    >>> history = net.fit(np.array([[1.0], [2.0]]), np.array([2.0, 4.0]), epochs=3, verbose=0)
    >>> sorted(history.history), len(history.history["loss"])
    (['loss'], 3)
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stop_reason: str | None = None

    def on_train_begin(self, logs: dict[str, float]) -> None:
        """Start an empty record."""
        self.history = {}
        self.epoch = []
        self.stop_reason = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Append every number in ``logs`` to its list."""
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def on_train_end(self, logs: dict[str, float]) -> None:
        """Copy the network's ``stop_reason``."""
        if self.network is not None:
            self.stop_reason = self.network.stop_reason

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class EarlyStopping(Callback):
    """Stop training when a monitored number has stopped improving.

    After each epoch, the value of ``monitor`` is compared with the best so far; an
    improvement means lower by more than ``min_delta`` (higher, for accuracies). After
    ``patience`` epochs in a row without improvement (at least one), training stops, as
    Keras's ``EarlyStopping`` does.

    Parameters
    ----------
    monitor
        A key of the epoch logs: ``"val_loss"`` (default), ``"loss"``, ``"val_accuracy"``...
        A name that is not in the logs is an error at the end of the first epoch (e.g.
        ``"val_loss"`` without validation data).
    patience
        How many epochs without improvement to accept before stopping (an integer
        ``>= 0``; 0 and 1 both stop at the first epoch that does not improve).
    min_delta
        The smallest change that counts as an improvement (``>= 0``).
    restore_best_weights
        At the end of training, put back the parameters of the best epoch (when it was
        not the last one). Otherwise the network keeps the last epoch's parameters.
    mode
        ``"min"``, ``"max"``, or ``"auto"`` (default): ``"max"`` when the name contains
        ``"acc"``, else ``"min"``.
    verbose
        1 prints a line when training stops and when weights are restored.

    Attributes
    ----------
    best : float
        The best value seen.
    best_epoch : int or None
        The epoch (from 0) where it was seen.
    stopped_epoch : int or None
        The epoch after which training stopped, or None.

    Examples
    --------
    >>> stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        restore_best_weights: bool = False,
        mode: str = "auto",
        verbose: int = 0,
    ) -> None:
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"EarlyStopping monitor must be a name such as 'val_loss'; got {monitor!r}")
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 0:
            raise ValueError(f"EarlyStopping patience must be an integer >= 0; got {patience!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping mode must be 'auto', 'min' or 'max'; got {mode!r}")
        if verbose not in (0, 1):
            raise ValueError(f"EarlyStopping verbose must be 0 or 1; got {verbose!r}")
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = check_real(min_delta, "EarlyStopping min_delta", low=0.0)
        self.restore_best_weights = bool(restore_best_weights)
        self.mode = ("max" if "acc" in monitor else "min") if mode == "auto" else mode
        self.verbose = verbose
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.wait = 0
        self._last_epoch: int | None = None
        self._best_weights: list[Any] | None = None

    def _improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_train_begin(self, logs: dict[str, float]) -> None:
        """Forget any previous run."""
        self._reset()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Compare ``logs[monitor]`` with the best so far; stop after ``patience`` misses."""
        if self.monitor not in logs:
            hint = ""
            if self.monitor.startswith("val_"):
                hint = " (give fit validation_split or validation_data)"
            raise ValueError(
                f"EarlyStopping monitor {self.monitor!r} is not in the epoch logs{hint}; "
                f"available: {', '.join(sorted(logs))}"
            )
        value = float(logs[self.monitor])
        self._last_epoch = epoch
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights and self.network is not None:
                parameters = self.network.parameters()
                if self._best_weights is None:
                    self._best_weights = [p.value.copy() for p in parameters]
                else:
                    for saved, parameter in zip(self._best_weights, parameters, strict=True):
                        np.copyto(saved, parameter.value)
            return
        self.wait += 1
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            best = "none finite"
            if self.best_epoch is not None:
                best = f"best {self.best:.6g} at epoch {self.best_epoch + 1}"
            self.request_stop(
                f"early stopping: {self.monitor} did not improve by more than {self.min_delta:g} "
                f"for {self.wait} epoch{'s' if self.wait != 1 else ''} ({best})"
            )

    def on_train_end(self, logs: dict[str, float]) -> None:
        """Restore the best epoch's parameters, if asked and if they are not the current ones."""
        if self.verbose and self.stopped_epoch is not None:
            print(f"EarlyStopping: stopped after epoch {self.stopped_epoch + 1}")
        if (
            self.restore_best_weights
            and self._best_weights is not None
            and self.network is not None
            and self.best_epoch is not None
            and self.best_epoch != self._last_epoch
        ):
            for saved, parameter in zip(self._best_weights, self.network.parameters(), strict=True):
                np.copyto(parameter.value, saved)
            if self.verbose:
                print(f"EarlyStopping: restored the weights of epoch {self.best_epoch + 1} "
                      f"({self.monitor} {self.best:.6g})")

    def config(self) -> dict[str, Any]:
        """The constructor arguments."""
        return {
            "monitor": self.monitor,
            "patience": self.patience,
            "min_delta": self.min_delta,
            "restore_best_weights": self.restore_best_weights,
            "mode": self.mode,
            "verbose": self.verbose,
        }
