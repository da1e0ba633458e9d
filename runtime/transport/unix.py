"""Plain Unix-socket transport: one stream socket per worker channel, length-prefixed frames.

Each frame is a 4-byte little-endian length (high bit: more frames of the same message
follow) and the frame's bytes. A channel's first frame is its peer id. No broker threads sit
in between, so a message costs one write and one read; the front reads on its event loop
with `add_reader`, the worker blocks in `recv` on the thread that owns receiving.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import tempfile
import threading
from typing import TYPE_CHECKING, Any

from cog.runtime.transport import ChannelClosed, OnMessage

if TYPE_CHECKING:
    import asyncio

_LEN = struct.Struct("<I")
_MORE = 0x80000000
_READ_SIZE = 1 << 20


def _parse(buf: bytearray, frames: list[Any], on_frames: Any) -> None:
    """Cut complete frames off the front of `buf`; whole messages go to `on_frames`."""
    pos = 0
    end = len(buf)
    while end - pos >= 4:
        (length,) = _LEN.unpack_from(buf, pos)
        size = length & ~_MORE
        if end - pos - 4 < size:
            break
        frames.append(bytes(buf[pos + 4 : pos + 4 + size]))
        pos += 4 + size
        if not length & _MORE:
            on_frames(frames[:])
            frames.clear()
    if pos:
        del buf[:pos]


def _encode(frames: tuple[Any, ...]) -> bytes:
    parts = []
    last = len(frames) - 1
    for i, frame in enumerate(frames):
        size = memoryview(frame).nbytes
        parts.append(_LEN.pack(size | (_MORE if i < last else 0)))
        parts.append(frame)
    return b"".join(parts)


class _Connection:
    __slots__ = ("sock", "fd", "peer", "inbox", "frames", "outbox")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.peer: bytes | None = None
        self.inbox = bytearray()
        self.frames: list[Any] = []
        self.outbox = bytearray()


class UnixFront:
    """The hub of the front process: a listening socket in a private directory."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="cog-ipc-")
        path = os.path.join(self._dir, "front.sock")
        self.address = f"unix://{path}"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(128)
        listener.setblocking(False)
        self._listener = listener
        self._peers: dict[bytes, _Connection] = {}
        self._connections: set[_Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_message: OnMessage | None = None
        self._scratch = bytearray(_READ_SIZE)  # reused by every read: no allocation per read
        self._scratch_view = memoryview(self._scratch)

    def start(self, loop: asyncio.AbstractEventLoop, on_message: OnMessage) -> None:
        self._loop = loop
        self._on_message = on_message
        loop.add_reader(self._listener.fileno(), self._accept)

    def _accept(self) -> None:
        assert self._loop is not None
        while True:
            try:
                sock, _ = self._listener.accept()
            except BlockingIOError:
                return
            sock.setblocking(False)
            conn = _Connection(sock)
            self._connections.add(conn)
            self._loop.add_reader(conn.fd, self._read, conn)

    def _read(self, conn: _Connection) -> bool:
        """One read from a connection; False when there was nothing to read."""
        try:
            size = conn.sock.recv_into(self._scratch)
        except BlockingIOError:
            return False
        except OSError:
            size = 0
        if not size:
            self._drop(conn)
            return False
        conn.inbox += self._scratch_view[:size]
        _parse(conn.inbox, conn.frames, lambda frames: self._deliver(conn, frames))
        return True

    def _deliver(self, conn: _Connection, frames: list[Any]) -> None:
        if conn.peer is None:  # the hello: the channel's peer id
            conn.peer = frames[0]
            self._peers[conn.peer] = conn
            return
        assert self._on_message is not None
        frames.insert(0, conn.peer)
        self._on_message(frames)

    def _drop(self, conn: _Connection) -> None:
        assert self._loop is not None
        self._loop.remove_reader(conn.fd)
        if conn.outbox:
            self._loop.remove_writer(conn.fd)
        self._connections.discard(conn)
        if conn.peer is not None and self._peers.get(conn.peer) is conn:
            del self._peers[conn.peer]
        conn.sock.close()

    def send(self, peer: bytes, header: Any) -> bool:
        conn = self._peers.get(peer)
        if conn is None:
            return False
        data = _LEN.pack(len(header)) + header
        if conn.outbox:
            conn.outbox += data
            return True
        try:
            sent = conn.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._drop(conn)
            return False
        if sent < len(data):
            assert self._loop is not None
            conn.outbox += memoryview(data)[sent:]
            self._loop.add_writer(conn.fd, self._flush, conn)
        return True

    def _flush(self, conn: _Connection) -> None:
        assert self._loop is not None
        try:
            sent = conn.sock.send(conn.outbox)
        except BlockingIOError:
            return
        except OSError:
            self._drop(conn)
            return
        del conn.outbox[:sent]
        if not conn.outbox:
            self._loop.remove_writer(conn.fd)

    def drain(self) -> None:
        for conn in list(self._connections):
            while conn in self._connections and self._read(conn):
                pass

    def close(self) -> None:
        if self._listener.fileno() < 0:
            return
        if self._loop is not None:
            self._loop.remove_reader(self._listener.fileno())
            for conn in list(self._connections):
                self._drop(conn)
        self._listener.close()
        shutil.rmtree(self._dir, ignore_errors=True)


class UnixChannel:
    """A worker's connection. Sends are whole messages under a lock (SIGUSR1, the sync
    cancel signal, is held back meanwhile so it cannot cut a message in two, unless the
    sender says no cancel can raise any more: two system calls less); receiving belongs
    to one thread."""

    def __init__(self, address: str, peer: bytes) -> None:
        path = address.removeprefix("unix://")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        self._sock = sock
        self._lock = threading.Lock()
        self._main = threading.main_thread().ident
        self._closed = False
        self._inbox = bytearray()
        self._frames: list[Any] = []
        self._messages: list[list[Any]] = []
        self._scratch = bytearray(_READ_SIZE)
        self._scratch_view = memoryview(self._scratch)
        self.wait_fds: tuple[int, ...] = (sock.fileno(),)
        sock.sendall(_encode((peer,)))

    def send(self, header: Any, interruptible: bool = True) -> None:
        data = _LEN.pack(len(header)) + header
        on_main = interruptible and threading.get_ident() == self._main
        with self._lock:
            if self._closed:
                raise ChannelClosed()
            if on_main:
                signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGUSR1,))
                try:
                    self._sock.sendall(data)
                finally:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGUSR1,))
            else:
                self._sock.sendall(data)

    def _fill(self, flags: int) -> bool:
        """One read into the inbox; False when nothing was waiting (non-blocking)."""
        try:
            size = self._sock.recv_into(self._scratch, 0, flags)
        except BlockingIOError:
            return False
        except OSError:
            size = 0
        if not size:
            raise ChannelClosed()
        self._inbox += self._scratch_view[:size]
        _parse(self._inbox, self._frames, self._messages.append)
        return True

    def recv_nowait(self) -> list[Any] | None:
        if self._closed:
            raise ChannelClosed()
        if not self._messages:
            self._fill(socket.MSG_DONTWAIT)
            if not self._messages:
                return None
        return self._messages.pop(0)

    def recv(self) -> list[Any]:
        while not self._messages:
            if self._closed:
                raise ChannelClosed()
            self._fill(0)
        return self._messages.pop(0)

    def acknowledge(self, fd: int) -> None:
        pass

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv()
            except OSError:
                pass
