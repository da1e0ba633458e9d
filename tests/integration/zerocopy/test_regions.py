"""Client-registered shared-memory regions: references read with no copy, checked ranges,
and the endpoints off unless the operator enables them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import msgspec
import numpy as np
import pytest

from cog.client import Client, ClientError, ShmRef
from cog.shm import Segment
from tests.integration.zerocopy.conftest import ARRAYS
from tests.integration.zerocopy.memory import shm_names, slab_mappings
from tests.support.server import ServerProcess, running_server


@pytest.fixture
def client(server: ServerProcess) -> Iterator[Client]:
    with Client(server.url) as c:
        yield c


def test_array_in_a_region_is_read_in_place(server: ServerProcess, client: Client) -> None:
    with client.region(8 << 20, name="in-place") as region:
        x = region.array((1024, 1024), np.float32)
        x[:] = np.arange(1024, dtype=np.float32)
        out = client.predict({"x": x})["output"]["x"]
        assert out["sum"] == float(x.sum(dtype=np.float64))
        # the worker's array lies in the client's own segment (its name, unlinked)
        assert out["shared"] == f"/dev/shm/{region.key} (deleted)"
        assert region.key not in shm_names()
        # the same memory, written again, is what the next prediction sees
        x[:] = 1
        assert client.predict({"x": x})["output"]["x"]["sum"] == 1024 * 1024


def test_fortran_array_and_file_bytes_by_reference(client: Client) -> None:
    with client.region(4 << 20, name="mixed") as region:
        f = region.array((300, 200), np.float64, order="F")
        f[:] = np.arange(300 * 200, dtype=np.float64).reshape(300, 200)
        doc = region.put(b"file contents in shared memory")
        out = client.predict({"x": f, "doc": doc})["output"]
        assert out["x"]["fortran"] is True and out["x"]["sum"] == float(f.sum())
        assert out["doc"]["len"] == len(b"file contents in shared memory")


def test_npy_payload_in_a_region_for_an_array_input(client: Client) -> None:
    from cog.client import npy_bytes

    with client.region(1 << 20, name="npy") as region:
        ref = region.put(npy_bytes(np.arange(10, dtype=np.int64)))
        assert client.predict({"x": ref})["output"]["x"]["sum"] == 45


def test_references_outside_a_region_are_refused(client: Client) -> None:
    with client.region(1 << 20, name="bounds") as region:
        cases = {
            ShmRef("bounds", (1 << 20) - 8, 16, "<f4", (4,)): "is outside region 'bounds'",
            ShmRef("bounds", -4, 4): "is outside region",
            ShmRef("nowhere", 0, 4, "<f4", (1,)): "no region named 'nowhere' is registered",
            ShmRef("bounds", 0, 12, "<f4", (4,)): "is 16 bytes, but the range has 12",
            ShmRef("bounds", 0, 8, "|O", (1,)): "is not allowed",
        }
        for ref, message in cases.items():
            with pytest.raises(ClientError) as caught:
                client.predict({"x": ref})
            assert caught.value.status == 422
            assert message in caught.value.detail[0]["msg"], caught.value.detail
        with pytest.raises(ClientError) as caught:
            client.predict({"sleep": ShmRef("bounds", 0, 4)})
        assert caught.value.status == 422
        assert "only file and ndarray inputs accept" in caught.value.detail[0]["msg"]
        region.reset()
        assert client.predict({"x": region.array(4)})["output"]["x"]["sum"] == 0


def test_a_deleted_region_can_no_longer_be_referenced(client: Client) -> None:
    region = client.shared_region(1 << 20, name="short-lived")
    x = region.array(16, np.float32)
    ref = region.ref_of(x)
    region.close()
    with pytest.raises(ClientError) as caught:
        client.predict({"x": ref})
    assert caught.value.status == 422
    assert "no region named 'short-lived'" in caught.value.detail[0]["msg"]


def test_registration_errors(server: ServerProcess, client: Client) -> None:
    with client.region(1 << 20, name="taken"):
        with pytest.raises(ClientError) as caught:
            client.shared_region(1 << 20, name="taken")
        assert caught.value.status == 409
    response = httpx.post(
        server.url + "/shm/regions", json={"name": "r", "key": "../etc/passwd", "size": 1}
    )
    assert response.status_code == 400 and "is not allowed" in response.json()["detail"]
    response = httpx.post(
        server.url + "/shm/regions", json={"name": "r", "key": "cog-region-missing", "size": 1}
    )
    assert response.status_code == 400 and "cannot map shared memory" in response.json()["detail"]
    segment = Segment.create(4096, keep_name=True, prefix="cog-region")
    try:
        assert segment.name is not None
        response = httpx.post(
            server.url + "/shm/regions", json={"name": "big", "key": segment.name, "size": 8192}
        )
        assert response.status_code == 400 and "fewer than the 8192" in response.json()["detail"]
    finally:
        segment.unlink()
        segment.close()
    assert httpx.delete(server.url + "/shm/regions/never").status_code == 404


def test_deleting_a_region_unmaps_it_in_the_front(server: ServerProcess, client: Client) -> None:
    region = client.shared_region(1 << 20, name="unmapped")
    key = region.key
    assert key in slab_mappings(server.proc.pid)
    region.close()
    assert key not in slab_mappings(server.proc.pid)


def test_regions_are_off_unless_enabled() -> None:
    with running_server(ARRAYS) as plain, Client(plain.url) as client:
        with pytest.raises(ClientError) as caught:
            client.shared_region(1 << 20)
        assert caught.value.status == 403
        assert "--shm-regions or COG_SHM_REGIONS=1" in caught.value.detail
        assert not {n for n in shm_names() if str(plain.proc.pid) in n}
        # a reference in a request is refused with the same reason
        body = {"input": {"x": {"$shm": {"region": "r", "offset": 0, "length": 4}}}}
        response = httpx.post(
            plain.url + "/predictions",
            content=msgspec.msgpack.encode(body),
            headers={"content-type": "application/msgpack"},
        )
        assert response.status_code == 422
        assert "COG_SHM_REGIONS=1" in response.json()["detail"][0]["msg"]


def test_the_server_flag_enables_regions() -> None:
    with running_server(ARRAYS, args=["--shm-regions"]) as flagged, Client(flagged.url) as c:
        with c.region(1 << 20) as region:
            assert c.predict({"x": region.array(8, np.int32)})["output"]["x"]["sum"] == 0


def test_a_deleted_region_is_unmapped_in_the_worker(server: ServerProcess, client: Client) -> None:
    from tests.integration.zerocopy.memory import worker_pids

    big = np.ones(1 << 18, np.float32)
    client.predict({"x": big}, transport="msgpack")  # the worker maps the slab's segment now
    region = client.shared_region(1 << 20, name="worker-side")
    x = region.array(16, np.float32)
    assert client.predict({"x": x})["output"]["x"]["sum"] == 0
    (worker,) = worker_pids(server)
    assert region.key in slab_mappings(worker)
    region.close()
    # the next input that travels through shared memory makes the worker let go of it
    assert client.predict({"x": big}, transport="msgpack")["output"]["x"]["sum"] == big.size
    assert region.key not in slab_mappings(worker)
