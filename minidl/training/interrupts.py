"""Ctrl-C made safe: :class:`InterruptGuard` holds SIGINT until the batch's update is complete.

``fit`` runs its loop inside the guard: the first Ctrl-C is held until the current
batch's update is complete, then raises ``KeyboardInterrupt`` between batches. The
parameters are never left half-updated, and ``network.history`` holds the epochs
completed so far. A second Ctrl-C raises at once (an escape hatch for a very long
batch), except during the optimizer's step.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType


class InterruptGuard:
    """Hold Ctrl-C (SIGINT) until a safe point; used by ``fit`` around its loop.

    Inside ``with InterruptGuard() as guard:`` the first SIGINT only sets
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

    pending = protected = active = False

    def __enter__(self) -> InterruptGuard:
        """Start holding SIGINT (if in the main thread with Python's default handler)."""
        self.pending = self.protected = False
        if (not self.active and threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous, self.active = signal.signal(signal.SIGINT, self._handle), True  # to put back
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        """Put back the previous SIGINT handler; raise a SIGINT still pending if the block ended normally."""
        if self.active:
            signal.signal(signal.SIGINT, self._previous)
            self.active = False
        if kind is None:
            self.check()  # a SIGINT during the last moments is not lost

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.pending and not self.protected:
            raise KeyboardInterrupt
        self.pending = True

    def check(self) -> None:
        """A safe point: raise ``KeyboardInterrupt`` if a SIGINT is pending."""
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt
