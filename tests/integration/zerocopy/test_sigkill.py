"""Nothing is left behind when the front or a worker is killed with SIGKILL.

Slab segments are unlinked the moment they are created, so /dev/shm never holds their
names; the memory lives exactly as long as some process maps it. A worker killed in the
middle of a large prediction fails that prediction only: its block is freed and the new
worker maps the same segments.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import msgspec
import numpy as np

from cog.client import Client, npy_bytes
from tests.integration.zerocopy.conftest import ARRAYS, MSGPACK
from tests.integration.zerocopy.memory import shm_names, slab_mappings, worker_pids
from tests.support.server import ServerProcess, running_server

ENV = {
    "COG_SLAB_SIZE": str(16 << 20),
    "COG_SLAB_MAX_SIZE": str(16 << 20),
    "COG_MAX_BINARY_BODY_BYTES": str(16 << 20),
    "COG_SHM_REGIONS": "1",
}


def predict(server: ServerProcess, array: np.ndarray, **inputs: object) -> httpx.Response:
    body = msgspec.msgpack.encode({"input": {"x": npy_bytes(array), **inputs}})
    return httpx.post(server.url + "/predictions", content=body, headers=MSGPACK, timeout=60)


def wait_for(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def mappers(segment: str) -> list[int]:
    """Every process on this host whose memory maps a segment."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and segment in slab_mappings(int(entry.name)):
            found.append(int(entry.name))
    return found


def ours(pid: int) -> set[str]:
    return {n for n in shm_names() if f"-{pid}-" in n}


def test_sigkill_of_a_worker_mid_prediction_then_of_the_front() -> None:
    array = np.ones((12 << 20) // 4, dtype=np.float32)  # 12 MiB of a 16 MiB slab
    with running_server(ARRAYS, env=ENV) as server:
        front = server.proc.pid
        assert predict(server, array).json()["output"]["x"]["sum"] == array.size
        segments = {n for n in slab_mappings(front) if n.startswith("cog-slab")}
        assert len(segments) == 1
        (segment,) = segments
        (worker,) = worker_pids(server)
        assert segment in slab_mappings(worker)
        assert not ours(front) and not ours(worker)

        # a region registered by a client: named only until the registration is answered
        client = Client(server.url)
        region = client.shared_region(1 << 20, name="kept")
        assert region.key not in shm_names()

        # SIGKILL the worker while it holds the block of a running prediction
        running = httpx.post(
            server.url + "/predictions",
            content=msgspec.msgpack.encode({"input": {"x": npy_bytes(array), "sleep": 30}}),
            headers={**MSGPACK, "prefer": "respond-async"},
            timeout=60,
        )
        assert running.status_code == 202
        time.sleep(0.5)
        os.kill(worker, signal.SIGKILL)
        pid = running.json()["id"]
        wait_for(lambda: httpx.get(f"{server.url}/predictions/{pid}").json()["status"] == "failed")
        error = httpx.get(f"{server.url}/predictions/{pid}").json()["error"]
        assert "the worker process died (killed by signal 9 (SIGKILL))" in error
        wait_for(lambda: httpx.get(server.url + "/health-check").json()["status"] == "READY")

        # the block came back (12 of 16 MiB again), the new worker maps the same segment,
        # and the region it never saw is announced to it too
        out = predict(server, array).json()["output"]["x"]
        assert out["sum"] == array.size and out["shared"] == f"/dev/shm/{segment} (deleted)"
        (new_worker,) = worker_pids(server)
        assert new_worker != worker and segment in slab_mappings(new_worker)
        x = region.array(4, np.float32)
        x[:] = 2
        assert client.predict({"x": x})["output"]["x"]["sum"] == 8

        # SIGKILL the front: its worker follows, and the memory goes with the last mapping
        os.kill(front, signal.SIGKILL)
        server.proc.wait(30)
        wait_for(lambda: not Path(f"/proc/{new_worker}").exists() or _zombie(new_worker))
        wait_for(lambda: not mappers(segment))
        assert not ours(front) and not ours(new_worker)
        # the client still maps its region; closing it releases the last mapping
        assert mappers(region.key) == [os.getpid()]
        region.segment.close()
        assert not mappers(region.key)
        client.session.close()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True
