"""Callbacks: code that ``Network.fit`` runs at fixed points of training.

A callback subclasses :class:`Callback` and overrides any of ``on_train_begin``,
``on_epoch_begin``, ``on_batch_end`` (Keras's ``on_train_batch_end`` is taken for it),
``on_epoch_end``, ``on_train_end``. During ``fit``
its ``network`` attribute is the network being trained, and ``logs`` is a dict of the
numbers known at that point:

* ``on_epoch_end``: the epoch's ``loss`` (the mean over the epoch's batches, weighted by
  batch size), each metric, and ``val_loss`` / ``val_<metric>`` when there is
  validation data (computed after the epoch, in evaluation mode);
* ``on_batch_end``: the running ``loss`` and metrics of the epoch so far, and ``size``,
  the batch's sample count;
* ``on_train_begin`` / ``on_train_end`` / ``on_epoch_begin``: an empty dict (the last
  epoch's logs at ``on_train_end``).

The user's callbacks run in the order given, then the History and the progress printer
(as in Keras): a number a callback adds to ``logs`` in ``on_epoch_end`` is recorded and
printed, and ``network.history`` holds the epochs before the current one there.

A callback stops training with ``self.request_stop(reason)``: ``fit`` finishes the
current epoch's bookkeeping, then stops, and the reason appears in
``History.stop_reason`` (and is printed when ``verbose > 0``).

``fit`` only calls ``on_batch_end`` on callbacks that override it, so callbacks that
work per epoch cost nothing per batch.

:class:`CSVLogger` writes the epoch logs to a CSV file.
:class:`EarlyStopping` and :class:`ModelCheckpoint` watch one number of the epoch logs
through their shared base, :class:`Monitor` (its name, which way is better, the best so
far, "improved?").

**Progress output** is a callback too, chosen by :func:`progress_for` from ``fit``'s
``verbose``: ``verbose=2`` (or ``verbose=1`` when the output is not a terminal: a log
file, a CI log) prints one line per epoch with its time and logs (:class:`Progress`);
``verbose=1`` on a terminal redraws a bar after each batch (batches done, ETA, running
loss and metrics; at most every 0.1 s, and never wider than the terminal: the bar shrinks,
then metrics are left out) and finishes each epoch with the same line (:class:`ProgressBar`).
Why training stopped early is printed last.

**Resuming exactly.** ``fit`` keeps its random generator (the one that shuffles) as
``network.fit_rng``; a model file saved with the optimizer stores the optimizer's state,
that generator's state and every layer's own generator (Dropout's). So after
``network = minidl.load(path)``, ``network.fit(x, y, epochs=k, seed=network.fit_rng)``
continues the same run: its weights are bit-identical to those of one uninterrupted
``fit`` with the same data, batch size and initial seed.
"""

from __future__ import annotations

import csv
import difflib
import math
import os
import shutil
import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from minidl._validation import check_bool, check_count, check_real, check_verbose, config_repr, type_of
from minidl.layers.base import Layer, Parameter, copy_states
from minidl.metrics import NAMES

if TYPE_CHECKING:
    from minidl.network import Network


#: The hooks fit calls.
_HOOKS = ("on_train_begin", "on_epoch_begin", "on_batch_end", "on_train_batch_end", "on_epoch_end",
          "on_train_end")
#: Keras's hooks that fit never calls: a callback defining one is refused when the class is made.
_KERAS_HOOKS_NOT_CALLED = ("on_batch_begin", "on_train_batch_begin", "on_test_begin", "on_test_end",
                           "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
                           "on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class of callbacks: every hook does nothing until overridden.

    Keras's name ``on_train_batch_end`` is taken for ``on_batch_end``; a subclass defining a
    Keras hook that ``fit`` never calls (``on_train_batch_begin``, ``on_batch_begin``, those
    of ``evaluate`` and ``predict``) is refused with a ``TypeError`` when it is defined.

    Attributes
    ----------
    network : Network or None
        The network being trained (set by ``fit`` before ``on_train_begin``).
    model : Network, minidl.keras.Sequential or None
        Keras's name: the network too, or the Sequential whose ``fit`` it is (so
        ``self.model.stop_training = True`` stops ``fit`` after this epoch, or after this batch when
        set in ``on_batch_end``, as in Keras).
    params : dict
        What ``fit`` was asked to do: ``epochs``, ``batch_size``, ``steps`` (batches per
        epoch), ``samples`` (training samples) and ``verbose``.

    Examples
    --------
    >>> class PrintLoss(Callback):
    ...     def on_epoch_end(self, epoch, logs):
    ...         print(f"epoch {epoch}: loss {logs['loss']:.3f}")
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Take Keras's ``on_train_batch_end`` as ``on_batch_end``; refuse Keras's hooks fit never calls.

        A near misspelling of a hook fit calls (``on_epoch_ends``) is refused too; other
        methods (a helper ``on_improvement``) are the user's own.
        """
        super().__init_subclass__(**kwargs)
        if "on_train_batch_end" in vars(cls):
            cls.on_batch_end = vars(cls)["on_train_batch_end"]  # type: ignore[method-assign]
        # Keras's on_test_begin, on_predict_end..., or a hook misspelt (on_epoch_ends): never called either
        never_called = [name for name in vars(cls) if name in _KERAS_HOOKS_NOT_CALLED or (
            name not in _HOOKS and difflib.get_close_matches(name, _HOOKS, n=1, cutoff=0.9))]
        if never_called:  # it would be skipped without a word
            raise TypeError(f"{cls.__name__} defines {', '.join(never_called)}, which minidl's fit never "
                            "calls; it calls on_train_begin, on_epoch_begin, on_batch_end (or "
                            "on_train_batch_end, after each batch), on_epoch_end and on_train_end")

    def __init__(self) -> None:
        self.network: Network | None = None
        self.model: Any = None
        self.params: dict[str, Any] = {}

    #: The names of the constructor arguments, kept as attributes of the same names.
    config_keys: tuple[str, ...] = ()
    #: True for callbacks that change the learning rate: while one is in ``fit``, each epoch's logs
    #: hold ``learning_rate`` (the rate the epoch trained with), as Keras 3's.
    logs_learning_rate = False

    def config(self) -> dict[str, Any]:
        """The constructor arguments, ``{name: value}`` for each of ``config_keys`` (shown by ``repr``)."""
        return {name: getattr(self, name) for name in self.config_keys}

    __repr__ = config_repr

    def set_network(self, network: Network, params: dict[str, Any]) -> None:
        """Attach the callback to ``network`` for one ``fit`` (called by ``fit``)."""
        self.network, self.model, self.params = network, network, params

    def request_stop(self, reason: str) -> None:
        """Ask ``fit`` to stop after the current epoch (batch, from ``on_batch_end``), saying why.

        The reason is kept in ``History.stop_reason``.
        """
        trainer = None if self.network is None else self.network.trainer
        if trainer is None:
            raise RuntimeError(f"{type(self).__name__}.request_stop() called outside fit()")
        trainer.stop_training, trainer.stop_reason = True, trainer.stop_reason or reason

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

    def on_train_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        """Keras's name of ``on_batch_end``: a subclass's runs after each batch (this one does nothing)."""


class CallbackList:
    """The callbacks of one ``fit``, in calling order: the user's, then the History and the progress printer.

    As in Keras: what a callback adds to the epoch logs in ``on_epoch_end`` (a validation
    score, say) reaches the History and the printed line.

    ``call(hook, ...)`` runs that hook of each in order; ``batch_end`` reaches only the
    callbacks that override ``on_batch_end`` (``per_batch``), so callbacks that work per
    epoch cost nothing per batch. ``logs_learning_rate``: whether one of them changes the
    learning rate (then ``fit`` logs ``learning_rate`` each epoch).
    """

    def __init__(self, callbacks: Iterable[Callback] | None, *built_in: Callback | None) -> None:
        if isinstance(callbacks, Callback):
            raise TypeError(f"fit callbacks must be a list of Callback objects; got a single "
                            f"{type(callbacks).__name__} (write callbacks=[...])")
        given = list(callbacks or [])  # read once: a generator would be empty the second time
        for index, item in enumerate(given):
            if not isinstance(item, Callback):
                raise TypeError(f"fit callbacks must be minidl Callback objects; got {type_of(item)}")
            first = next(i for i, other in enumerate(given) if other is item)
            if first < index:  # its hooks would run twice each epoch
                raise ValueError(f"fit callbacks: the {type(item).__name__} at position {index} is the same "
                                 f"object as the one at position {first}; give each callback once")
        self.callbacks = given + [c for c in built_in if c is not None]
        self.per_batch = [c for c in self.callbacks if type(c).on_batch_end is not Callback.on_batch_end]
        self.logs_learning_rate = any(c.logs_learning_rate for c in self.callbacks)

    def call(self, hook: str, *arguments: Any) -> None:
        """Run ``hook`` (``"set_network"``, ``"on_train_begin"``, ...) of every callback, in order."""
        for callback in self.callbacks:
            getattr(callback, hook)(*arguments)

    def batch_end(self, batch: int, logs: dict[str, float]) -> None:
        """Run the ``on_batch_end`` of the callbacks that have one."""
        for callback in self.per_batch:
            callback.on_batch_end(batch, logs)


class History(Callback):
    """The per-epoch record of a ``fit``, returned by it (as Keras's ``History``).

    Attributes
    ----------
    history : dict[str, list[float]]
        One list per logged quantity, one entry per completed epoch: ``loss``, each
        metric, and ``val_loss`` and ``val_<metric>`` when there is validation data.
    epoch : list[int]
        The completed epochs, counted from 0.
    model : Network or minidl.keras.Sequential
        What ``fit`` trained (Keras's name): the Network, or the Sequential whose ``fit`` it was
        (None before ``fit``). ``params`` is what ``fit`` was asked to do (:class:`Callback`).
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
        self.on_train_begin({})

    def on_train_begin(self, logs: dict[str, float]) -> None:
        """Start an empty record."""
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stop_reason: str | None = None

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


class Monitor(Callback):
    """The base of callbacks that watch one number of the epoch logs (as Keras's MonitorCallback).

    Parameters
    ----------
    monitor
        A key of the epoch logs: ``"val_loss"``, ``"loss"``, ``"val_accuracy"``... A name
        that is not in the logs is an error at the end of the first epoch, saying what is
        missing: validation data (``"val_loss"`` without it), or a metric to compile
        (``"val_acc"`` without ``metrics=["acc"]``).
    mode
        ``"min"``, ``"max"``, or ``"auto"``: ``"max"`` when the name contains ``"acc"``,
        else ``"min"``.
    min_delta
        The smallest change that counts as an improvement (``>= 0``).
    verbose
        0: silent; 1 or 2 (as fit's ``verbose=2``, which Keras's callbacks take too): the
        callback prints what it does.

    Attributes
    ----------
    best : float
        The best value seen (``inf`` for ``"min"``, ``-inf`` for ``"max"`` before any).
    best_epoch : int or None
        The epoch (from 0) of ``best``, set by the subclass that records it.
    """

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0, verbose: int = 0) -> None:
        super().__init__()
        owner = type(self).__name__
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"{owner} monitor must be a name such as 'val_loss'; got {monitor!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner} mode must be 'auto', 'min' or 'max'; got {mode!r}")
        self.monitor, self.verbose = monitor, check_verbose(verbose, f"{owner} verbose")
        self.mode = ("max" if "acc" in monitor else "min") if mode == "auto" else mode
        self.min_delta = check_real(min_delta, f"{owner} min_delta", low=0.0)
        self.reset_best()

    def reset_best(self) -> None:
        """Forget the best value and its epoch."""
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None

    def monitored(self, logs: dict[str, float]) -> float:
        """The watched number in ``logs``, or an error naming what the logs hold."""
        if self.monitor not in logs:
            name = self.monitor.removeprefix("val_")
            validation = name != self.monitor and "val_loss" not in logs  # val_... without validation
            hints = ["give fit validation_split or validation_data"] if validation else []
            if name.lower() in NAMES and name not in logs:  # a metric minidl knows, not under that name
                hints.append(f"fit logs a metric under the name compile was given: metrics=[{name!r}] logs "
                             f"{name!r} and 'val_{name}'")
            hint = f" ({'; '.join(hints)})" if hints else ""
            raise ValueError(f"{type(self).__name__} monitor {self.monitor!r} is not in the epoch "
                             f"logs{hint}; available: {', '.join(sorted(logs))}")
        return float(logs[self.monitor])

    def improved(self, value: float) -> bool:
        """Whether ``value`` beats ``best`` by more than ``min_delta`` (NaN and inf never do)."""
        if self.mode == "min":
            return math.isfinite(value) and value < self.best - self.min_delta
        return math.isfinite(value) and value > self.best + self.min_delta


class EarlyStopping(Monitor):
    """Stop training when a monitored number has stopped improving.

    After each epoch, the value of ``monitor`` is compared with the best so far; an
    improvement means lower by more than ``min_delta`` (higher, for accuracies). After
    ``patience`` epochs in a row without improvement (at least one), training stops, as
    Keras's ``EarlyStopping`` does.

    Parameters
    ----------
    monitor, mode, min_delta
        What to watch, as in :class:`Monitor` (``"val_loss"``, ``"auto"`` and 0 by default).
    patience
        How many epochs without improvement to accept before stopping (an integer
        ``>= 0``; 0 and 1 both stop at the first epoch that does not improve).
    restore_best_weights
        At the end of training, put back the parameters of the best epoch, and the layers'
        state arrays (BatchNorm's running statistics), as Keras 3 does: also after a stop on a
        NaN/inf loss, which leaves the weights of the broken epoch's middle. Otherwise the
        network keeps the last epoch's.
    verbose
        1 or 2 prints a line when training stops and when weights are restored.

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

    config_keys: tuple[str, ...] = ("monitor", "patience", "min_delta", "restore_best_weights", "mode",
                                    "verbose")
    #: Keras's ``start_from_epoch`` (minidl.keras's EarlyStopping takes it): the epochs before this
    #: one (counted from 0) are not watched, a warm-up in which training never stops.
    start_from_epoch = 0

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 restore_best_weights: bool = False, mode: str = "auto", verbose: int = 0) -> None:
        super().__init__(monitor, mode, min_delta, verbose)
        self.patience = check_count(patience, "EarlyStopping patience")
        self.restore_best_weights = check_bool(restore_best_weights, "EarlyStopping restore_best_weights")
        self.on_train_begin({})

    def on_train_begin(self, logs: dict[str, float]) -> None:
        """Forget any previous run."""
        self.reset_best()
        self.stopped_epoch: int | None = None
        self.wait = 0
        self._best_weights: list[tuple[Parameter, Any]] | None = None  # (parameter, its best value)
        self._best_states: list[tuple[Layer, dict[str, Any]]] = []  # (layer, copies of its state arrays)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Compare ``logs[monitor]`` with the best so far; stop after ``patience`` misses."""
        if epoch < self.start_from_epoch:
            return
        value = self.monitored(logs)
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights and self.network is not None:
                self._best_weights = [(p, p.value.copy()) for p in self.network.parameters()]
                self._best_states = copy_states(self.network.layers)
            return
        self.wait += 1
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            best = ("none finite" if self.best_epoch is None
                    else f"best {self.best:.6g} at epoch {self.best_epoch + 1}")
            epochs = "epoch" if self.wait == 1 else "epochs"
            self.request_stop(f"early stopping: {self.monitor} did not improve by more than "
                              f"{self.min_delta:g} for {self.wait} {epochs} ({best})")

    def on_train_end(self, logs: dict[str, float]) -> None:
        """Restore the best epoch's parameters and state arrays, if asked."""
        if self.verbose and self.stopped_epoch is not None:
            print(f"EarlyStopping: stopped after epoch {self.stopped_epoch + 1}")
        # Always, as Keras 3: the network may hold a later epoch's weights (wait > 0), or those of the
        # middle of an epoch that stopped on a NaN/inf loss (fit then skips its on_epoch_end)
        if self._best_weights is not None and self.best_epoch is not None:
            for parameter, saved in self._best_weights:
                np.copyto(parameter.value, saved)
            for layer, states in self._best_states:
                layer.load_state_arrays(states)
            if self.verbose:
                print(f"EarlyStopping: restored the weights of epoch {self.best_epoch + 1} "
                      f"({self.monitor} {self.best:.6g})")
            trainer, epoch = None if self.network is None else self.network.trainer, self.best_epoch + 1
            if trainer is not None and trainer.stop_reason:  # it said which weights were left: no longer so
                trainer.stop_reason += f"; EarlyStopping then restored the weights of epoch {epoch}"


class ModelCheckpoint(Monitor):
    """Save the network during ``fit``: after every epoch, or only after the best ones.

    Every save is atomic (``Network.save`` writes a temporary file, then renames it): if
    training crashes or is interrupted during a save, the previous checkpoint stays whole.

    Parameters
    ----------
    path
        The file to write. It may hold ``str.format`` fields: ``{epoch}`` (counted from
        1, as Keras) and any key of the epoch logs, e.g.
        ``"checkpoints/model-{epoch:03d}-{val_loss:.4f}.npz"``; a missing folder is made, as
        Keras does.
    monitor
        The key of the epoch logs to compare (``"val_loss"`` by default; ``"loss"``,
        ``"val_accuracy"``, ...). Only used when ``save_best_only``.
    save_best_only
        Save only when ``monitor`` improves on the best value so far (a NaN or
        infinite value never does); otherwise save after every epoch.
    mode
        ``"min"``, ``"max"``, or ``"auto"`` (default): ``"max"`` when the name contains
        ``"acc"``, else ``"min"``.
    include_optimizer
        Also store the compile settings, the optimizer's state and ``fit``'s random
        generator, so that training can resume exactly from the file (default True).
    verbose
        1 or 2 prints a line for each save.

    Attributes
    ----------
    best : float
        The best value of ``monitor`` so far (kept across ``fit`` calls with the same
        callback; set it yourself when resuming with a new callback).
    best_epoch : int or None
        The epoch (from 0, in the latest ``fit``) of the best value.
    saved : list[str]
        The paths written, in order.

    Examples
    --------
    >>> checkpoint = ModelCheckpoint("best.npz", monitor="val_loss", save_best_only=True)
    >>> checkpoint.mode
    'min'
    """

    config_keys: tuple[str, ...] = ("path", "monitor", "save_best_only", "mode", "include_optimizer",
                                    "verbose")

    def __init__(self, path: str | os.PathLike[str], monitor: str = "val_loss", save_best_only: bool = True,
                 mode: str = "auto", include_optimizer: bool = True, verbose: int = 0) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"ModelCheckpoint path must be a str or os.PathLike; got {type(path).__name__}")
        super().__init__(monitor, mode, verbose=verbose)
        self.path = os.fspath(path)
        self.saved: list[str] = []
        self.save_best_only = check_bool(save_best_only, "ModelCheckpoint save_best_only")
        self.include_optimizer = check_bool(include_optimizer, "ModelCheckpoint include_optimizer")

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Save the network if it should be saved after this epoch."""
        if self.network is None:
            raise RuntimeError("ModelCheckpoint.on_epoch_end called outside fit()")
        if self.save_best_only:
            value = self.monitored(logs)
            if not self.improved(value):
                return
            self.best, self.best_epoch = value, epoch
        try:
            path = self.path.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError) as error:
            logged = ", ".join(sorted(logs))
            raise ValueError(f"ModelCheckpoint path {self.path!r}: cannot fill its fields with epoch and the "
                             f"epoch logs ({logged}): {type(error).__name__}: {error}") from None
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.network.save(path, include_optimizer=self.include_optimizer)
        self.saved.append(path)
        if self.verbose:
            detail = f" ({self.monitor} {self.best:.6g})" if self.save_best_only else ""
            print(f"ModelCheckpoint: epoch {epoch + 1}: saved {path}{detail}")


class CSVLogger(Callback):
    """Write each epoch's logs to a CSV file, one row per epoch (as Keras's ``CSVLogger``).

    The columns are ``epoch`` (counted from 0, as Keras writes it) then the keys of the
    first epoch's logs in sorted order (``learning_rate``, ``loss``, ``val_loss``...); a
    key missing from a later epoch is written ``NA``. Numbers are written as ``repr``
    writes them, so they read back to the same float. Each row is flushed as it is
    written; the file is closed at the end of training.

    Parameters
    ----------
    filename
        The CSV file (its folder must exist).
    separator
        The character between columns (not a quote, a newline or a carriage return, which
        CSV readers take for the quoting and the row ends).
    append
        Add to an existing file (continuing a run) instead of overwriting it: the header
        is written only when the file is new or empty. Rows follow the file's header (a
        column the run does not log is ``NA``); a run that logs a key the header lacks
        (validation now, none before) is an error at the end of its first epoch.

    Examples
    --------
    >>> logger = CSVLogger("training.csv")
    """

    config_keys = ("filename", "separator", "append")

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",", append: bool = False) -> None:
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"CSVLogger filename must be a str or os.PathLike; got {type(filename).__name__}")
        if not isinstance(separator, str) or len(separator) != 1 or separator in '"\n\r':
            raise ValueError(f"CSVLogger separator must be one character, not a quote, a newline or a "
                             f"carriage return (they break the CSV format); got {separator!r}")
        self.filename, self.separator = os.fspath(filename), separator
        self.append = check_bool(append, "CSVLogger append")
        self.file: TextIO | None = None
        self.keys: list[str] | None = None
        self.writer: Any = None  # a csv.writer
        self.header: list[str] | None = None  # the header of the file appended to

    def on_train_begin(self, logs: dict[str, float]) -> None:
        """Open the file (for appending, or anew), read the header it has and forget the previous columns."""
        self.on_train_end({})
        self.header = None
        text = ""
        if self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0:
            try:  # utf-8-sig: a header saved by a spreadsheet may start with a byte-order mark
                with open(self.filename, newline="", encoding="utf-8-sig") as file:
                    text = file.read()
            except UnicodeDecodeError as error:
                raise ValueError(f"CSVLogger {self.filename!r}: append=True, but the file is not UTF-8 "
                                 f"text ({error}); write a new file") from error
            self.header = next(csv.reader(text.splitlines()[:1], delimiter=self.separator), [])
        self.file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")
        if text and not text.endswith(("\n", "\r")):  # a last line without its end: end it first
            self.file.write("\r\n")
        self.writer, self.keys = csv.writer(self.file, delimiter=self.separator), None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Write the epoch's row (and the header, before the first row of a new file)."""
        if self.file is None:
            raise RuntimeError("CSVLogger.on_epoch_end called before on_train_begin (outside fit())")
        if self.keys is None:
            self.keys = sorted(logs) if self.header is None else self.header[1:]
            if self.header is None:
                self.writer.writerow(["epoch", *self.keys])
            elif self.header[:1] != ["epoch"] or not set(logs) <= set(self.keys):
                self.on_train_end({})
                other = (f" (or the file separates them with another character than {self.separator!r})"
                         if len(self.header) == 1 else "")
                raise ValueError(f"CSVLogger {self.filename!r}: append=True, but the file's header is "
                                 f"{self.separator.join(self.header)} and this fit logs "
                                 f"{self.separator.join(['epoch', *sorted(logs)])}{other}: append to a file "
                                 "with these columns, or write a new file")
        row = [repr(float(logs[key])) if key in logs else "NA" for key in self.keys]
        self.writer.writerow([epoch, *row])
        self.file.flush()

    def on_train_end(self, logs: dict[str, float]) -> None:
        """Close the file."""
        if self.file is not None:
            self.file.close()
        self.file = None


def progress_for(verbose: int) -> Callback | None:
    """The progress callback for ``fit``'s ``verbose`` (0: None), printing to ``sys.stdout``."""
    # verbose=False / True pass as 0 / 1 (Keras accepts them)
    check_verbose(verbose, "fit verbose", "1 (progress bar) or 2 (one line per epoch)")
    if not verbose:
        return None
    return ProgressBar(sys.stdout) if verbose == 1 and _is_terminal(sys.stdout) else Progress(sys.stdout)


class Progress(Callback):
    """Prints one line per epoch: ``Epoch 2/5 - 40 batches - 1.3s - loss: 0.1234 - ...``."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream, self.epoch, self.start = stream, 0, 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, float]) -> None:
        """Start the epoch's clock."""
        self.epoch, self.start = epoch, time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Print the epoch's line."""
        elapsed = _format_seconds(time.perf_counter() - self.start)
        self.write(f"Epoch {epoch + 1}/{self.params['epochs']} - {_batches(self.params['steps'])} - "
                   f"{elapsed} - " + " - ".join(f"{key}: {value}" for key, value in _formatted(logs).items()))

    def on_train_end(self, logs: dict[str, float]) -> None:
        """Print why training stopped early, if it did."""
        if self.network is not None and self.network.stop_reason is not None:
            self.write(self.network.stop_reason)

    def write(self, text: str) -> None:
        """Print ``text`` as a line of its own."""
        print(text, file=self.stream, flush=True)


class ProgressBar(Progress):
    """A live bar redrawn in place (a carriage return) after each batch, then the epoch's line."""

    #: Minimum seconds between two redraws of the live bar.
    interval = 0.1
    #: The bar's width in characters.
    width = 30
    #: When the bar was last drawn, and how many characters it took.
    last_draw, drawn = -math.inf, 0

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        """Redraw the bar (throttled, but always the first batch of each epoch); erase it after the last.

        Erased, so that what the callbacks print at the epoch's end (they run before this
        printer, as in Keras) starts on a line of its own; the epoch's line follows.
        """
        done, steps, now = batch + 1, self.params["steps"], time.perf_counter()
        if done == steps:
            print("\r" + " " * self.drawn + "\r", end="", file=self.stream, flush=True)
            self.drawn = 0
            return
        if done != 1 and now - self.last_draw < self.interval:
            return
        self.last_draw = now
        eta = _format_seconds((now - self.start) / done * (steps - done))
        running = [f"{key}: {value}" for key, value in _formatted(logs).items() if key != "size"]
        head = f"Epoch {self.epoch + 1}/{self.params['epochs']} {done:>{len(str(steps))}}/{steps} "
        # the terminal's width, less the last column (writing there wraps some terminals)
        columns = shutil.get_terminal_size(fallback=(80, 24)).columns - 1
        text = _fitted(head, done / steps, f" ETA {eta}", running, self.width, columns)
        print("\r" + text.ljust(self.drawn), end="", file=self.stream, flush=True)  # spaces over a longer bar
        self.drawn = len(text)

    def write(self, text: str) -> None:
        """Print ``text`` over the bar when one is drawn (the stop reason), else as a new line."""
        if self.drawn:  # spaces over the rest of the bar
            text, self.drawn = "\r" + text.ljust(self.drawn), 0
        super().write(text)


def _formatted(logs: dict[str, float]) -> dict[str, str]:
    # 1.2345e-05, not 0.0000
    return {key: f"{value:.4e}" if 0 < abs(value) < 1e-3 else f"{value:.4f}" for key, value in logs.items()}


def _fitted(head: str, fraction: float, eta: str, metrics: list[str], width: int, columns: int) -> str:
    """``head [bar] eta - metrics`` in at most ``columns`` characters.

    The bar shrinks first (to 10 characters), then metrics are left out from the last,
    then the line is cut.
    """
    for kept in range(len(metrics), -1, -1):
        tail = eta + "".join(f" - {metric}" for metric in metrics[:kept])
        bar_width = min(width, columns - len(head) - len(tail) - 2)
        if bar_width >= 10:
            break
    bar_width = max(bar_width, 10)
    filled = int(bar_width * fraction)
    bar = "=" * filled + (">" if filled < bar_width else "") + "." * (bar_width - filled - 1)
    return f"{head}[{bar}]{tail}"[:columns]


def _format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds + 0.5), 60)
    return f"{minutes}m{seconds:02d}s"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, TypeError, ValueError, OSError):  # no isatty(), or a closed stream
        return False


def _batches(count: int) -> str:
    """``"1 batch"``, ``"40 batches"``."""
    return f"{count} batch" if count == 1 else f"{count} batches"
