"""Cancellation of sync predictions: `CancelationException` raised in the running code.

The control thread asks, the main thread (which runs sync predictions) receives SIGUSR1 and
its handler raises. The handler fires only while the targeted run is the one running and
still cancelable, and at most once per run, so a late signal never hits the next
prediction. A cancel for a run that has not started yet is kept and lands when it starts.

A signal that arrives just before the main thread enters a blocking call (say, the
`clock_nanosleep` of `time.sleep`) runs its C handler at once but the Python handler only
when that call returns, so the signal is repeated until the handler has run.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

from cog.exceptions import CancelationException

_RETRY = 0.02  # seconds between repeated cancel signals


class SyncCancel:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._main = threading.main_thread().ident
        self._running = 0
        self._last_started = 0
        self._fire = 0  # run the pending signal is meant for
        self._cancelable = False
        self._delivered = False
        self._pending: set[int] = set()
        signal.signal(signal.SIGUSR1, self._handler)

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        # Runs on the main thread between bytecodes: no lock (the main thread may hold it).
        if self._cancelable and self._fire and self._fire == self._running:
            self._fire = 0
            self._delivered = True
            raise CancelationException()

    def request(self, tag: int) -> None:
        """From the control thread: cancel run `tag` now, or when it starts."""
        with self._lock:
            if tag == self._running:
                if self._cancelable and not self._delivered and self._fire != tag:
                    self._fire = tag
                    self._signal()
                    threading.Thread(target=self._insist, args=(tag,), daemon=True).start()
            elif tag > self._last_started:
                self._pending.add(tag)

    def _signal(self) -> None:
        assert self._main is not None
        signal.pthread_kill(self._main, signal.SIGUSR1)

    def _insist(self, tag: int) -> None:
        """Repeat the signal until the run has seen it or is over."""
        while True:
            time.sleep(_RETRY)
            with self._lock:
                if self._running != tag or not self._cancelable or self._delivered:
                    return
                self._signal()

    def begin(self, tag: int) -> None:
        """Mark run `tag` as running; raises at once if its cancel came first."""
        with self._lock:
            self._running = self._last_started = tag
            self._fire = 0
            self._delivered = False
            early = tag in self._pending
            if self._pending:
                self._pending = {t for t in self._pending if t > tag}
            self._cancelable = not early
        if early:
            raise CancelationException()

    def end(self) -> None:
        self._cancelable = False  # first, so no signal can raise while the lock is awaited
        with self._lock:
            self._running = 0
