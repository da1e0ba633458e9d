"""What the processes of a server map, and what /dev/shm holds: the evidence of zero-copy
and of nothing left behind."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.support.server import ServerProcess


def front_pid(server: ServerProcess) -> int:
    return server.proc.pid


def worker_pids(server: ServerProcess) -> list[int]:
    children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children")
    return [int(p) for p in children.read_text().split()]


def slab_mappings(pid: int) -> set[str]:
    """The shared-memory segments a process maps (names shown by the kernel as deleted)."""
    try:
        text = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return set()
    return set(re.findall(r"/dev/shm/(cog-[\w.-]+) \(deleted\)", text))


def shm_names() -> set[str]:
    """Names of cogpy segments present in /dev/shm right now."""
    return {n for n in os.listdir("/dev/shm") if n.startswith(("cog-slab", "cog-region"))}
