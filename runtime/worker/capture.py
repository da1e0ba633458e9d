"""Output capture in the worker: every byte written to fds 1 and 2 ends up in the right log.

Two paths feed one router. Python-level writes (`print`, `logging`, tracebacks) go through
`sys.stdout`/`sys.stderr` replacements that know which prediction is writing (a context
variable, so concurrent async predictions each get their own lines). Everything else that
writes to the file descriptors (C extensions, subprocesses, the original `sys.__stdout__`)
lands in pipes that replaced fds 1 and 2; a reader thread splits it into lines. Both paths
tee the bytes to the worker's real stdout/stderr, which the front process shares.

Lines whose writer is not inside a prediction go to the only prediction running, if exactly
one is (threads a sync model started), else to the setup logs while setup runs, else only to
the real streams.
"""

from __future__ import annotations

import codecs
import contextvars
import ctypes
import io
import os
import re
import select
import threading
from collections.abc import Callable

#: The run the current code belongs to (0: none).
current_tag: contextvars.ContextVar[int] = contextvars.ContextVar("cog_prediction_tag", default=0)

Emit = Callable[[int, str, str], None]  # (tag, source, line) -> send it to the front

#: Streams as the router knows them: Python-level writes (0, 1) and fd-level writes (2, 3)
#: keep separate unterminated lines, so the two paths never splice into one line.
_SOURCES = ("stdout", "stderr", "stdout", "stderr")
FD_STREAMS = 2
_libc = ctypes.CDLL(None)
_LINES = re.compile(r"[^\r\n]*[\r\n]")
_forked = False


def _after_fork_in_child() -> None:
    global _forked
    _forked = True


os.register_at_fork(after_in_child=_after_fork_in_child)


class LogRouter:
    """Decides where each line goes and splits text into lines per (run, stream)."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self.in_setup = True
        self.active: set[int] = set()
        self._partial: dict[tuple[int, int], str] = {}
        self._lock = threading.Lock()

    def target(self, tag: int) -> int:
        if tag:
            return tag
        if len(self.active) == 1:
            for only in self.active:
                return only
        return 0

    def feed(self, tag: int, stream: int, text: str) -> None:
        """Add text written by run `tag` (0: unknown) to a stream (see `_SOURCES`)."""
        tag = self.target(tag)
        if not tag and not self.in_setup:
            return  # process log: the tee already showed it
        key = (tag, stream)
        with self._lock:
            text = self._partial.pop(key, "") + text
            lines = _LINES.findall(text)
            end = sum(map(len, lines))
            if end < len(text):
                self._partial[key] = text[end:]
        for line in lines:
            self._emit(tag, _SOURCES[stream], line)

    def begin(self, tag: int) -> None:
        self.active.add(tag)

    def finish(self, tag: int) -> None:
        """Flush the unterminated last line of each stream of `tag`."""
        self.active.discard(tag)
        if not self._partial:
            return
        for stream in range(len(_SOURCES)):
            with self._lock:
                rest = self._partial.pop((tag, stream), None)
            if rest:
                self._emit(tag, _SOURCES[stream], rest)


class RoutedStream(io.TextIOBase):
    """`sys.stdout`/`sys.stderr` of the worker: tee to the real fd, route by context."""

    def __init__(self, router: LogRouter, stream: int, real_fd: int, name: str) -> None:
        self._router = router
        self._stream = stream
        self._real_fd = real_fd
        self._name = name
        # bytes written to .buffer take the fd path: captured, routed and tee'd by the reader
        self.buffer = open(stream + 1, "wb", buffering=0, closefd=False)

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._name

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._stream + 1  # the captured fd, so subprocess(stdout=sys.stdout) works

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if text:
            if _forked:
                # A child forked by model code has no channel: its writes go through the
                # captured fd, which the worker's reader thread routes and tees.
                _write_all(self._stream + 1, text.encode("utf-8", "replace"))
            else:
                _write_all(self._real_fd, text.encode("utf-8", "replace"))
                self._router.feed(current_tag.get(), self._stream, text)
        return len(text)

    def flush(self) -> None:
        pass


class FdCapture:
    """Pipes in place of fds 1 and 2, and the thread that reads them."""

    def __init__(self, router: LogRouter) -> None:
        self._router = router
        self.real_fds = (os.dup(1), os.dup(2))
        self._read_fds: list[int] = []
        for fd in (1, 2):
            r, w = os.pipe()
            os.dup2(w, fd)
            os.close(w)
            os.set_blocking(r, False)
            self._read_fds.append(r)
        self._lock = threading.Lock()
        self._decoders = [_decoder(), _decoder()]
        self._drain_poller = select.poll()
        for fd in self._read_fds:
            self._drain_poller.register(fd, select.POLLIN)
        threading.Thread(target=self._read_forever, name="cog-log-reader", daemon=True).start()

    def _read_forever(self) -> None:
        poller = select.poll()
        for fd in self._read_fds:
            poller.register(fd, select.POLLIN)
        while True:
            ready = poller.poll()
            with self._lock:
                self._read_ready(ready)

    def _read_ready(self, ready: list[tuple[int, int]]) -> None:
        for fd, _ in ready:
            stream = 0 if fd == self._read_fds[0] else 1
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:  # the other reader got there first
                continue
            if data:
                _write_all(self.real_fds[stream], data)
                text = self._decoders[stream].decode(data)
                self._router.feed(0, stream + FD_STREAMS, text)

    def drain(self) -> None:
        """Route everything written to the fds so far (C stdio buffers included)."""
        _libc.fflush(None)
        with self._lock:
            while ready := self._drain_poller.poll(0):
                self._read_ready(ready)


def _decoder() -> codecs.IncrementalDecoder:
    return codecs.getincrementaldecoder("utf-8")("replace")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except OSError:
            return  # the real stream is gone: capture goes on without the tee
        view = view[n:]
