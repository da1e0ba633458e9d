"""cog.client against real servers on loopback: the cogpy server for JSON, and a server of
the documented wire format for msgpack bodies and shared-memory regions."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pytest

from cog.client import Client, ClientError, ShmRef, npy_bytes
from cog.shm import SHM_DIR
from tests.integration.shm.wire_server import WireServer
from tests.support.server import running_server

FIXTURES = Path(__file__).parent / "fixtures"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def wire():
    with WireServer() as server:
        yield server


@pytest.fixture
def client(wire):
    with Client(wire.url) as c:
        yield c


def region_names() -> set[str]:
    return {n for n in os.listdir(SHM_DIR) if n.startswith(f"cog-region-{os.getpid()}-")}


# --- JSON against the real server ---------------------------------------------------------


@pytest.fixture(scope="module")
def arrays_server():
    with running_server(FIXTURES / "arrays") as server:
        yield server


def test_json_sends_arrays_as_npy_data_urls_to_the_real_server(arrays_server, tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01binary")
    with Client(arrays_server.url) as client:
        assert client.health()["status"] == "READY"
        result = client.predict(
            {"array": array, "blob": blob, "values": np.array([1.5, 2.5]).tolist()}
        )
    assert result["status"] == "succeeded", result
    assert result["output"] == {
        "shape": [3, 4],
        "dtype": "float32",
        "sum": 66.0,
        "blob_sha256": sha(b"\x00\x01binary"),
        "values_sum": 4.0,
    }


def test_json_bytes_and_open_files(arrays_server):
    with Client(arrays_server.url) as client:
        result = client.predict(
            {"array": io.BytesIO(npy_bytes(np.ones((2, 2), ">i4"))), "blob": b"raw bytes"}
        )
    assert result["output"]["sum"] == 4.0 and result["output"]["dtype"] == ">i4"
    assert result["output"]["blob_sha256"] == sha(b"raw bytes")


def test_json_validation_error_raises_with_the_detail(arrays_server):
    with Client(arrays_server.url) as client, pytest.raises(ClientError) as info:
        client.predict({"blob": b"x"})
    assert info.value.status == 422
    assert any(item["loc"][-1] == "array" for item in info.value.detail)


# --- the documented wire format ------------------------------------------------------------


ARRAYS = [
    np.arange(24, dtype=np.float32).reshape(2, 3, 4),
    np.asfortranarray(np.arange(6, dtype=">f8").reshape(2, 3)),
    np.array(7, dtype=np.int16),
]


def described(array: np.ndarray) -> dict:
    return {
        "shape": list(array.shape),
        "dtype": array.dtype.str,
        "sum": float(array.sum()),
        "fortran": bool(array.flags.f_contiguous and not array.flags.c_contiguous),
    }


@pytest.mark.parametrize("transport", ["json", "msgpack", "shm"])
@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{a.shape}")
def test_every_transport_delivers_the_same_inputs(client, wire, transport, array):
    result = client.predict(
        {"x": array, "blob": b"abc", "n": 3, "words": ["a", "b"]}, transport=transport
    )
    assert result["output"] == {
        "x": described(array),
        "blob": {"len": 3, "sha256": sha(b"abc")},
        "n": 3,
        "words": ["a", "b"],
    }
    kinds = {kind for method, path, kind in wire.requests if path == "/predictions"}
    assert kinds == {"application/msgpack" if transport == "msgpack" else "application/json"}


def test_json_can_send_arrays_as_lists(client, wire):
    client.predict({"x": np.arange(4)}, arrays="list")
    assert wire.inputs[-1]["x"] == [0, 1, 2, 3]


def test_shm_transport_references_a_registered_region_whose_name_is_gone(client, wire):
    big = np.random.default_rng(0).random((512, 512))
    result = client.predict({"x": big}, transport="shm")
    assert result["output"]["x"]["sum"] == pytest.approx(float(big.sum()))
    assert [p for m, p, _ in wire.requests if m == "POST"] == ["/shm/regions", "/predictions"]
    assert region_names() == set()  # unlinked once the server mapped it
    # A second request reuses the region: no second registration.
    client.predict({"x": big[:10]}, transport="shm")
    assert [p for _, p, _ in wire.requests].count("/shm/regions") == 1


def test_array_made_in_a_region_is_sent_without_a_copy(client, wire):
    with client.region(1 << 20, name="inputs") as region:
        array = region.array((256, 256), np.float32)
        array[:] = 2.0
        client.predict({"x": array})  # plain JSON transport: still a reference
        seen = wire.inputs[-1]["x"]
        assert seen.shape == (256, 256) and float(seen.sum()) == 2.0 * 256 * 256
        array[0, 0] = 100.0  # same pages: the server's view changes with ours
        assert seen[0, 0] == 100.0
        ref = region.ref_of(array)
        assert ref == ShmRef("inputs", 0, 256 * 256 * 4, "<f4", (256, 256), "C")
    assert ("DELETE", "/shm/regions/inputs", "") in wire.requests
    assert "inputs" not in wire.regions


def test_region_refused_by_the_server_leaves_nothing(client, wire):
    client.shared_region(4096, name="dup").close()
    with client.region(4096, name="taken"):
        with pytest.raises(ClientError) as info:
            client.shared_region(4096, name="taken")
        assert info.value.status == 409 and "already registered" in info.value.detail
    assert region_names() == set()


def test_region_overflow_is_a_clear_error(client):
    with client.region(4096) as region:
        region.put(b"x" * 4000)
        with pytest.raises(MemoryError, match="has 64 bytes left, 100 needed"):
            region.put(b"y" * 100)
        region.reset()
        assert region.put(b"y" * 100).offset == 0


def test_unknown_transport(client):
    with pytest.raises(ValueError, match="transport must be 'json', 'msgpack' or 'shm'"):
        client.predict({}, transport="grpc")  # type: ignore[arg-type]
