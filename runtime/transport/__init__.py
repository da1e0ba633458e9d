"""How the front and its workers exchange frames, behind one small interface.

A message is a list of frames: one header frame (see `cog.runtime.protocol`) and zero or
more raw payload frames. The front holds one `FrontTransport`, a hub every worker channel
connects to; a worker holds `WorkerChannel`s, each with a peer id the front addresses it by.
Two implementations: ZeroMQ (`zeromq.py`) and plain Unix stream sockets (`unix.py`);
`COG_TRANSPORT` chooses, and the round-trip benchmark compares them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import asyncio  # a worker of a sync model never loads it

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

    def send(self, header: Any, interruptible: bool = True) -> None:
        """`interruptible=False`: no cancel signal can raise in this thread any more (the
        run is over), so the send need not hold it back."""
        ...

    def recv(self) -> list[Any]: ...

    def recv_nowait(self) -> list[Any] | None: ...

    def acknowledge(self, fd: int) -> None: ...

    def close(self) -> None:
        """Stop receiving; what was sent still goes out until `finish_worker()`."""
        ...


#: The transports by name, the default first; COG_TRANSPORT picks one for the front (the
#: workers follow the address it gives them). Unix sockets won the round-trip benchmark
#: (no broker threads between the processes); ZeroMQ stays for tcp:// scale-out later.
TRANSPORTS = ("unix", "zeromq")


def front_transport(name: str | None = None) -> FrontTransport:
    name = name or os.environ.get("COG_TRANSPORT") or TRANSPORTS[0]
    if name == "zeromq":
        from cog.runtime.transport.zeromq import ZmqFront

        return ZmqFront()
    if name == "unix":
        from cog.runtime.transport.unix import UnixFront

        return UnixFront()
    raise ValueError(
        f"COG_TRANSPORT={name!r} is not a transport; use one of {', '.join(TRANSPORTS)}"
    )


def worker_channel(address: str, peer: bytes) -> WorkerChannel:
    if address.startswith("unix://"):
        from cog.runtime.transport.unix import UnixChannel

        return UnixChannel(address, peer)
    from cog.runtime.transport.zeromq import ZmqChannel

    return ZmqChannel(address, peer)


def finish_worker() -> None:
    """In a worker about to exit: wait until its closed channels have sent everything."""
    zeromq = sys.modules.get("cog.runtime.transport.zeromq")
    if zeromq is not None:
        zeromq.finish_worker()
