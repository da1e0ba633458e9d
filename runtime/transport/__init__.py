"""How the front and its workers exchange frames, behind one small interface.

A message is a list of frames: one header frame (see `cog.runtime.protocol`) and zero or
more raw payload frames. The front holds one `FrontTransport`, a hub every worker channel
connects to; a worker holds `WorkerChannel`s, each with a peer id the front addresses it by.
ZeroMQ is the implementation today (`zeromq.py`); a second one (say, plain Unix sockets)
only has to provide these two classes to be benchmarked against it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

#: Called on the event loop for every message that arrives: [peer id, header, *payloads].
OnMessage = Callable[[list[Any]], None]


class ChannelClosed(Exception):
    """The channel was closed (by another thread) while this one was receiving."""


class FrontTransport(Protocol):
    address: str  # what workers connect to

    def start(self, loop: asyncio.AbstractEventLoop, on_message: OnMessage) -> None: ...

    def send(self, peer: bytes, header: Any) -> bool:
        """Queue one message; False when that peer is not connected (or gone)."""
        ...

    def drain(self) -> None:
        """Handle every message that has already arrived, synchronously."""
        ...

    def close(self) -> None: ...


class WorkerChannel(Protocol):
    """One connection from a worker. `send` may be called from any thread; receiving
    belongs to one thread: blocking `recv`, or, on an event loop, `acknowledge(fd)` then
    `recv_nowait` until None whenever one of `wait_fds` is readable."""

    wait_fds: tuple[int, ...]

    def send(self, header: Any) -> None: ...

    def recv(self) -> list[Any]: ...

    def recv_nowait(self) -> list[Any] | None: ...

    def acknowledge(self, fd: int) -> None: ...

    def close(self) -> None:
        """Stop receiving; what was sent still goes out until `finish_worker()`."""
        ...


def front_transport() -> FrontTransport:
    from cog.runtime.transport.zeromq import ZmqFront

    return ZmqFront()


def worker_channel(address: str, peer: bytes) -> WorkerChannel:
    from cog.runtime.transport.zeromq import ZmqChannel

    return ZmqChannel(address, peer)


def finish_worker() -> None:
    """In a worker about to exit: wait until its closed channels have sent everything."""
    from cog.runtime.transport.zeromq import finish_worker as finish

    finish()
