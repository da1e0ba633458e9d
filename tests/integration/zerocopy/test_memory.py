"""A large body costs one copy, once: the front's private memory does not grow with each
large request (the body lands in the reused slab, and nothing keeps its chunks)."""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec
import numpy as np

from cog.client import npy_bytes
from tests.integration.zerocopy.conftest import MSGPACK
from tests.support.server import ServerProcess

SIZE = 64 << 20


def private_bytes(pid: int) -> int:
    """Anonymous resident memory (heap, not the shared slab) of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon in /proc/<pid>/status")


def test_large_bodies_do_not_accumulate_in_the_front(server: ServerProcess) -> None:
    array = np.ones(SIZE // 4, dtype=np.float32)
    body = msgspec.msgpack.encode({"input": {"x": npy_bytes(array)}})

    def send() -> None:
        response = httpx.post(
            server.url + "/predictions", content=body, headers=MSGPACK, timeout=120
        )
        assert response.status_code == 200, response.text
        assert response.json()["output"]["x"]["sum"] == array.size

    send()  # the slab segment for this size is made here
    before = private_bytes(server.proc.pid)
    for _ in range(4):
        send()
    grown = private_bytes(server.proc.pid) - before
    # four more 64 MiB bodies: a copy kept per request would be 256 MiB
    assert grown < SIZE, f"the front kept {grown >> 20} MiB of private memory over 4 requests"
