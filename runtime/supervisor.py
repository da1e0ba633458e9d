"""One worker process as the front sees it: its channels' peer ids, its slots, its runs.

Each process gets fresh peer ids (`w<n>`/`c<n>`), so a replacement never receives what was
meant for the process it replaces. Death is noticed at once: the process's pidfd becomes
readable on the front's event loop (on kernels without pidfds, a waiting thread tells it).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from cog.runtime import protocol

_numbers = itertools.count(1)


def describe_exit(returncode: int) -> str:
    """'exit code 3' / 'killed by signal 11 (SIGSEGV)'."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            return f"killed by signal {-returncode}"
        return f"killed by signal {-returncode} ({name})"
    return f"exit code {returncode}"


class WorkerProcess:
    def __init__(self, index: int) -> None:
        self.index = index
        number = next(_numbers)
        self.peer = f"{number}"
        self.main_peer = b"w" + self.peer.encode()
        self.control_peer = b"c" + self.peer.encode()
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready: protocol.Ready | None = None
        self.ready_future: asyncio.Future[protocol.Ready] | None = None
        self.control_future: asyncio.Future[None] | None = None  # HELLO on the control channel
        self.setup_logs: list[str] = []
        self.slots = 0
        self.free = 0
        self.alive = False
        self.runs: dict[int, Any] = {}
        self.returncode: int | None = None
        self._pidfd = -1
        self._loop: asyncio.AbstractEventLoop | None = None

    def spawn(
        self,
        loop: asyncio.AbstractEventLoop,
        address: str,
        config: dict[str, Any],
        on_exit: Callable[[WorkerProcess], None],
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        settings = dict(config, address=address, peer=self.peer)
        self._loop = loop
        self.ready_future = loop.create_future()
        self.control_future = loop.create_future()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cog.runtime.worker", json.dumps(settings)],
            cwd=config["project_dir"],
            stdin=subprocess.DEVNULL,
            pass_fds=pass_fds,
        )
        self.alive = True
        try:
            self._pidfd = os.pidfd_open(self.proc.pid)
        except OSError:  # kernels before 5.3: a thread waits instead
            proc = self.proc
            threading.Thread(
                target=lambda: (proc.wait(), loop.call_soon_threadsafe(self._exited, on_exit)),
                name=f"cog-worker-{self.peer}-waiter",
                daemon=True,
            ).start()
        else:
            loop.add_reader(self._pidfd, self._exited, on_exit)

    def _exited(self, on_exit: Callable[[WorkerProcess], None]) -> None:
        assert self._loop is not None and self.proc is not None
        if self._pidfd >= 0:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1
        self.returncode = self.proc.wait()
        self.alive = False
        on_exit(self)

    def kill(self) -> None:
        if self.proc is not None and self.alive:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass

    @property
    def accepting(self) -> bool:
        return self.alive and self.ready is not None and self.ready.error is None
