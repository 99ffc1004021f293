"""Checkpoints and interruptions: training that survives a crash or a Ctrl-C.

* :class:`ModelCheckpoint` saves the network during ``fit`` (each epoch, or only when
  a monitored number improves), atomically: a crash or a Ctrl-C during a save leaves
  the previous file whole. With the optimizer's state and ``fit``'s random generator in
  the file, training resumes exactly (see below).
* :class:`InterruptGuard` is how ``fit`` makes Ctrl-C safe: the first Ctrl-C is held
  until the current batch's update is complete, then raises ``KeyboardInterrupt``
  between batches. The parameters are never left half-updated, and
  ``network.history`` holds the epochs completed so far. A second Ctrl-C raises at
  once (an escape hatch for a very long batch), except during the optimizer's step.

**Resuming exactly.** ``fit`` keeps its random generator (the one that shuffles) as
``network.fit_rng``; a model file saved with the optimizer stores the optimizer's state,
that generator's state and every layer's own generator (Dropout's). So after
``network = minidl.load(path)``, ``network.fit(x, y, epochs=k, seed=network.fit_rng)``
continues the same run: its weights are bit-identical to those of one uninterrupted
``fit`` with the same data, batch size and initial seed.
"""

from __future__ import annotations

import math
import os
import signal
import threading
from types import FrameType, TracebackType
from typing import Any

from minidl.callbacks import Callback
from minidl.io.archive import PathLike


class InterruptGuard:
    """Hold Ctrl-C (SIGINT) until a safe point; used by ``fit`` around its loop.

    Between ``install()`` and ``restore()`` (or inside ``with InterruptGuard() as
    guard:``) the first SIGINT only sets
    ``guard.pending``; the code raises ``KeyboardInterrupt`` itself at its next safe
    point (``guard.check()``), and at the latest when the block ends. A second SIGINT
    raises ``KeyboardInterrupt`` at once, unless ``guard.protected`` is True (set while
    parameters are being updated), in which case it waits for the next safe point too.

    The guard only acts in the main thread and when SIGINT has Python's default
    handler; otherwise (another thread, a custom handler) it does nothing and
    ``KeyboardInterrupt`` arrives as usual.

    Attributes
    ----------
    pending : bool
        A SIGINT arrived and has not been raised yet.
    protected : bool
        Set by the caller around code that must not be interrupted at all.
    active : bool
        Whether the guard installed its handler.
    """

    def __init__(self) -> None:
        self.pending = False
        self.protected = False
        self.active = False
        self._previous: Any = None

    def install(self) -> None:
        """Start holding SIGINT (if in the main thread with Python's default handler)."""
        self.pending = False
        self.protected = False
        if (not self.active and threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self.active = True

    def restore(self) -> None:
        """Put back the previous SIGINT handler (a no-op if none was installed)."""
        if self.active:
            signal.signal(signal.SIGINT, self._previous)
            self.active = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.pending and not self.protected:
            raise KeyboardInterrupt
        self.pending = True

    def check(self) -> None:
        """A safe point: raise ``KeyboardInterrupt`` if a SIGINT is pending."""
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    def __enter__(self) -> InterruptGuard:
        self.install()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.restore()
        if kind is None:
            self.check()  # a SIGINT during the last moments is not lost


class ModelCheckpoint(Callback):
    """Save the network during ``fit``: after every epoch, or only after the best ones.

    Every save is atomic (a temporary file, fsync, rename; see
    :func:`minidl.io.atomic_write`): if training crashes or is interrupted
    during a save, the previous checkpoint stays whole.

    Parameters
    ----------
    path
        The file to write. It may hold ``str.format`` fields: ``{epoch}`` (counted from
        1, as Keras) and any key of the epoch logs, e.g.
        ``"checkpoints/model-{epoch:03d}-{val_loss:.4f}.npz"``; the folder must exist.
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
        1 prints a line for each save.

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

    def __init__(
        self,
        path: PathLike,
        monitor: str = "val_loss",
        save_best_only: bool = True,
        mode: str = "auto",
        include_optimizer: bool = True,
        verbose: int = 0,
    ) -> None:
        super().__init__()
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"ModelCheckpoint path must be a str or os.PathLike; got {type(path).__name__}")
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"ModelCheckpoint monitor must be a name such as 'val_loss'; got {monitor!r}")
        for name, flag in (("save_best_only", save_best_only), ("include_optimizer", include_optimizer)):
            if not isinstance(flag, bool):
                raise TypeError(f"ModelCheckpoint {name} must be True or False; got {flag!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"ModelCheckpoint mode must be 'auto', 'min' or 'max'; got {mode!r}")
        if verbose not in (0, 1) or isinstance(verbose, bool):
            raise ValueError(f"ModelCheckpoint verbose must be 0 or 1; got {verbose!r}")
        self.path = os.fspath(path)
        self.monitor = monitor
        self.save_best_only = save_best_only
        self.mode = ("max" if "acc" in monitor else "min") if mode == "auto" else mode
        self.include_optimizer = include_optimizer
        self.verbose = verbose
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.saved: list[str] = []

    def _improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Save the network if it should be saved after this epoch."""
        if self.network is None:
            raise RuntimeError("ModelCheckpoint.on_epoch_end called outside fit()")
        if self.save_best_only:
            if self.monitor not in logs:
                hint = (" (give fit validation_split or validation_data)"
                        if self.monitor.startswith("val_") else "")
                raise ValueError(
                    f"ModelCheckpoint monitor {self.monitor!r} is not in the epoch logs{hint}; "
                    f"available: {', '.join(sorted(logs))}"
                )
            value = float(logs[self.monitor])
            if not self._improved(value):
                return
            self.best, self.best_epoch = value, epoch
        path = self._format_path(epoch, logs)
        self.network.save(path, include_optimizer=self.include_optimizer)
        self.saved.append(path)
        if self.verbose:
            detail = f" ({self.monitor} {self.best:.6g})" if self.save_best_only else ""
            print(f"ModelCheckpoint: epoch {epoch + 1}: saved {path}{detail}")

    def _format_path(self, epoch: int, logs: dict[str, float]) -> str:
        try:
            return self.path.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                f"ModelCheckpoint path {self.path!r}: cannot fill its fields with epoch and the "
                f"epoch logs ({', '.join(sorted(logs))}): {type(error).__name__}: {error}"
            ) from None

    def config(self) -> dict[str, Any]:
        """The constructor arguments."""
        return {
            "path": self.path,
            "monitor": self.monitor,
            "save_best_only": self.save_best_only,
            "mode": self.mode,
            "include_optimizer": self.include_optimizer,
            "verbose": self.verbose,
        }
