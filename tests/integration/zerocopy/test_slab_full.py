"""When the slab is full, a large input takes the ordinary path (inline in the message)
instead of failing; several workers share one slab."""

from __future__ import annotations

import time

import httpx
import msgspec
import numpy as np

from cog.client import npy_bytes
from tests.integration.zerocopy.conftest import ARRAYS, MSGPACK
from tests.integration.zerocopy.memory import slab_mappings, worker_pids
from tests.support.server import running_server

TIGHT = {
    "COG_SLAB_SIZE": str(16 << 20),
    "COG_SLAB_MAX_SIZE": str(16 << 20),
    "COG_MAX_BINARY_BODY_BYTES": str(16 << 20),
}


def body(array: np.ndarray, **inputs: object) -> bytes:
    return msgspec.msgpack.encode({"input": {"x": npy_bytes(array), **inputs}})


def test_a_full_slab_falls_back_to_the_message() -> None:
    array = np.full((12 << 20) // 4, 3, dtype=np.float32)
    with running_server(ARRAYS, env={**TIGHT, "COG_QUEUE_SIZE": "2"}) as server:
        first = httpx.post(
            server.url + "/predictions",
            content=body(array, sleep=1.5),
            headers={**MSGPACK, "prefer": "respond-async"},
            timeout=60,
        )
        assert first.status_code == 202
        # read while the first holds 12 of the 16 MiB: no room, so it travels inline
        second = httpx.post(
            server.url + "/predictions", content=body(array * 2), headers=MSGPACK, timeout=60
        )
        assert second.status_code == 200, second.text
        out = second.json()["output"]["x"]
        assert out["sum"] == 6 * array.size and "cog-slab" not in out["shared"]
        pid = first.json()["id"]
        deadline = time.monotonic() + 30
        while (done := httpx.get(f"{server.url}/predictions/{pid}").json())[
            "status"
        ] != "succeeded":
            assert time.monotonic() < deadline, done
            time.sleep(0.05)
        assert done["output"]["x"]["sum"] == 3 * array.size
        assert done["output"]["x"]["shared"].startswith("/dev/shm/cog-slab-")


def test_several_workers_share_the_slab() -> None:
    array = np.ones((4 << 20) // 4, dtype=np.float32)
    with running_server(ARRAYS, env={"COG_WORKERS": "2"}) as server:
        responses = [
            httpx.post(
                server.url + "/predictions",
                content=body(array, sleep=1.0),
                headers={**MSGPACK, "prefer": "respond-async"},
                timeout=60,
            )
            for _ in range(2)
        ]
        assert [r.status_code for r in responses] == [202, 202]
        for response in responses:
            pid = response.json()["id"]
            deadline = time.monotonic() + 30
            while (done := httpx.get(f"{server.url}/predictions/{pid}").json())["status"] in (
                "starting",
                "processing",
            ):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert done["status"] == "succeeded", done
            assert done["output"]["x"]["shared"].startswith("/dev/shm/cog-slab-")
        segments = {n for n in slab_mappings(server.proc.pid) if n.startswith("cog-slab")}
        workers = worker_pids(server)
        assert len(workers) == 2
        for worker in workers:
            assert segments <= slab_mappings(worker)
