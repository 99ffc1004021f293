"""``fit``'s progress output, as callbacks: one line per epoch, or a live bar on a terminal.

``verbose=2`` (or ``verbose=1`` when the output is not a terminal: a log file, a CI
log) prints one line per epoch with its time and logs; ``verbose=1`` on a terminal
redraws a bar after each batch (batches done, ETA, running loss and metrics) and
finishes each epoch with the same line. Why training stopped early is printed last.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

from minidl.training.callbacks import Callback


def progress_for(verbose: int) -> Callback | None:
    """The progress callback for ``fit``'s ``verbose`` (0: None), printing to ``sys.stdout``."""
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"fit verbose must be 0 (silent), 1 (progress bar) or 2 (one line per epoch); "
                         f"got {verbose!r}")
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
        self.write(f"Epoch {epoch + 1}/{self.params['epochs']} - {self.params['steps']} batches - "
                   f"{elapsed} - {_format_logs(logs)}")

    def on_train_end(self, logs: dict[str, float]) -> None:
        """Print why training stopped early, if it did."""
        if self.network is not None and self.network.stop_reason is not None:
            self.write(self.network.stop_reason)

    def write(self, text: str) -> None:
        """Print ``text`` as a line of its own."""
        self.stream.write(text + "\n")
        self.stream.flush()


class ProgressBar(Progress):
    """A live bar redrawn in place (a carriage return) after each batch, then the epoch's line."""

    #: Minimum seconds between two redraws of the live bar.
    interval = 0.1
    #: The bar's width in characters.
    width = 30
    #: When the bar was last drawn, and how many characters it took.
    last_draw, drawn = -math.inf, 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, float]) -> None:
        """Start the epoch's clock and a new bar."""
        super().on_epoch_begin(epoch, logs)
        self.last_draw = -math.inf

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        """Redraw the bar (throttled, but always the first and last batch)."""
        done, steps, now = batch + 1, self.params["steps"], time.perf_counter()
        if done != 1 and done != steps and now - self.last_draw < self.interval:
            return
        self.last_draw = now
        eta = (now - self.start) / done * (steps - done)
        filled = self.width * done // steps
        bar = "=" * filled + (">" if filled < self.width else "") + "." * (self.width - filled - 1)
        running = {key: value for key, value in logs.items() if key != "size"}
        self._draw(f"Epoch {self.epoch + 1}/{self.params['epochs']} {done:>{len(str(steps))}}/{steps} "
                   f"[{bar}] ETA {_format_seconds(eta)} - {_format_logs(running)}")

    def _draw(self, text: str) -> None:
        padding = " " * max(self.drawn - len(text), 0)
        self.stream.write("\r" + text + padding)
        self.stream.flush()
        self.drawn = len(text)

    def write(self, text: str) -> None:
        """Print ``text`` over the bar when one is drawn (the epoch's line), else as a new line."""
        if self.drawn:
            self._draw(text)
            self.drawn, text = 0, ""
        super().write(text)


def _format_logs(logs: dict[str, float]) -> str:
    return " - ".join(f"{key}: {_format_number(value)}" for key, value in logs.items())


def _format_number(value: float) -> str:
    if value != 0 and math.isfinite(value) and abs(value) < 1e-3:
        return f"{value:.4e}"
    return f"{value:.4f}"


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
