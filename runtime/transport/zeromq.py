"""ZeroMQ transport: a ROUTER in the front, one DEALER per worker channel, over ipc://.

No zmq.asyncio: the front watches the socket's notification fd (`zmq.FD`) on its event
loop and drains with non-blocking receives. That fd is edge-triggered and any socket
operation, sends included, may consume its signal, so after every send the socket's
`EVENTS` are checked and a drain is scheduled when a message is already waiting.
"""

from __future__ import annotations

import asyncio
import os
import select
import shutil
import tempfile
import threading
from typing import Any, cast

import zmq

from cog.runtime.transport import ChannelClosed, OnMessage

_POLLIN = zmq.POLLIN
_NOBLOCK = zmq.NOBLOCK
_EVENTS = zmq.EVENTS


class ZmqFront:
    """The hub of the front process: a ROUTER bound to a private ipc:// path."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="cog-ipc-")
        self.address = f"ipc://{self._dir}/front"
        self._ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
        sock = self._ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)  # unknown peer -> error, not a silent drop
        sock.setsockopt(zmq.SNDHWM, 0)
        sock.setsockopt(zmq.RCVHWM, 0)
        sock.bind(self.address)
        self._sock = sock
        self._fd = cast(int, sock.getsockopt(zmq.FD))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_message: OnMessage | None = None
        self._drain_scheduled = False

    def start(self, loop: asyncio.AbstractEventLoop, on_message: OnMessage) -> None:
        self._loop = loop
        self._on_message = on_message
        loop.add_reader(self._fd, self._drain)
        self._schedule_drain()

    def send(self, peer: bytes, header: Any) -> bool:
        sock = self._sock
        try:
            sock.send(peer, zmq.SNDMORE | _NOBLOCK)
            sock.send(header, _NOBLOCK)
            sent = True
        except zmq.ZMQError:  # EHOSTUNREACH: that worker is not (or no longer) connected
            sent = False
        if sock.closed:
            return False
        if cast(int, sock.getsockopt(_EVENTS)) & _POLLIN:
            self._schedule_drain()
        return sent

    def _schedule_drain(self) -> None:
        if not self._drain_scheduled and self._loop is not None:
            self._drain_scheduled = True
            self._loop.call_soon(self._drain)

    def drain(self) -> None:
        """Handle every message that has arrived, now."""
        self._drain()

    def _drain(self) -> None:
        self._drain_scheduled = False
        sock = self._sock
        on_message = self._on_message
        assert on_message is not None
        while True:
            try:
                frames = sock.recv_multipart(_NOBLOCK)
            except zmq.Again:
                return
            except zmq.ZMQError:  # closed under us during shutdown
                return
            on_message(frames)

    def close(self) -> None:
        if self._sock.closed:
            return
        if self._loop is not None:
            self._loop.remove_reader(self._fd)
        self._sock.close(0)
        shutil.rmtree(self._dir, ignore_errors=True)


class ZmqChannel:
    """A worker's DEALER. A lock serialises socket use across threads, and a wake-up
    eventfd tells the receiving thread when a send elsewhere consumed the fd's signal."""

    def __init__(self, address: str, peer: bytes) -> None:
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.IDENTITY, peer)
        sock.setsockopt(zmq.LINGER, 2000)  # let the last messages out before the process exits
        sock.setsockopt(zmq.SNDHWM, 0)
        sock.setsockopt(zmq.RCVHWM, 0)
        sock.setsockopt(zmq.IMMEDIATE, 1)
        sock.connect(address)
        self._sock = sock
        self._lock = threading.Lock()
        self._wake = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.wait_fds: tuple[int, ...] = (cast(int, sock.getsockopt(zmq.FD)), self._wake)

    def send(self, header: Any, interruptible: bool = True) -> None:
        sock = self._sock
        with self._lock:
            if sock.closed:
                raise ChannelClosed()
            sock.send(header)
            pending = cast(int, sock.getsockopt(_EVENTS)) & _POLLIN
        if pending:
            os.eventfd_write(self._wake, 1)

    def recv_nowait(self) -> list[Any] | None:
        sock = self._sock
        with self._lock:
            if sock.closed:
                raise ChannelClosed()
            if cast(int, sock.getsockopt(_EVENTS)) & _POLLIN:
                return sock.recv_multipart(_NOBLOCK)
        return None

    def recv(self) -> list[Any]:
        wait_fds = self.wait_fds
        wake = self._wake
        while True:
            frames = self.recv_nowait()
            if frames is not None:
                return frames
            # EVENTS has just consumed any signal on the zmq fd: wait for the next one
            if wake in select.select(wait_fds, (), ())[0]:
                self.acknowledge(wake)

    def acknowledge(self, fd: int) -> None:
        if fd == self._wake:
            try:
                os.eventfd_read(fd)
            except BlockingIOError:
                pass

    def close(self) -> None:
        with self._lock:
            self._sock.close()  # what is queued still goes out, until finish_worker()
        os.eventfd_write(self._wake, 1)  # a thread waiting in recv() sees ChannelClosed


def finish_worker() -> None:
    """Block until every closed channel has sent what it queued (2 s at most)."""
    zmq.Context.instance().term()
