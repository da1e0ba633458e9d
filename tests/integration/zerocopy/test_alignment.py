"""Arrays reach the model aligned, whatever their place in a msgpack body or a region:
the first array of a msgpack body without a copy, the others copied only when numpy would
see them unaligned."""

from __future__ import annotations

import io
from typing import Any

import httpx
import msgspec
import numpy as np

from cog.client import Client, ShmRef, npy_bytes
from tests.integration.zerocopy.conftest import MSGPACK
from tests.support.receiver import Receiver
from tests.support.server import ServerProcess


def post_msgpack(server: ServerProcess, envelope: dict[str, Any]) -> dict[str, Any]:
    body = msgspec.msgpack.encode(envelope)
    response = httpx.post(server.url + "/predictions", content=body, headers=MSGPACK, timeout=120)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def native_sum(payload: bytes) -> float:
    """What `x.sum()` gives for the array of a .npy payload loaded the ordinary way."""
    return float(np.load(io.BytesIO(payload)).sum())


def assert_aligned_view_of_the_slab(out: dict[str, Any], payload: bytes) -> None:
    assert out["aligned"] is True and out["address_mod_64"] == 0, out
    assert out["shared"].startswith("/dev/shm/cog-slab-") and out["shared"].endswith("(deleted)")
    assert out["native_sum"] == native_sum(payload)


def test_single_msgpack_array_is_an_aligned_view_of_shared_memory(server: ServerProcess) -> None:
    array = np.random.default_rng(1).random((512, 512), dtype=np.float32)
    payload = npy_bytes(array)
    # `{"input": {"x": <bin32>}}`: the payload starts 15 bytes into the body
    body = msgspec.msgpack.encode({"input": {"x": payload}})
    assert body.index(payload) == 15
    out = post_msgpack(server, {"input": {"x": payload}})["output"]["x"]
    assert_aligned_view_of_the_slab(out, payload)
    # the unaligned sum differs in the last bits: the check above can tell the two apart
    raw = np.empty(len(body) + 64, np.uint8)
    start = -raw.ctypes.data % 64
    raw[start : start + len(body)] = np.frombuffer(body, np.uint8)
    unaligned = raw[start + 15 + 128 : start + len(body)].view(np.float32)
    assert not unaligned.flags.aligned
    assert float(unaligned.sum()) != out["native_sum"]


def test_envelope_fields_and_a_small_bin_before_the_array(server: ServerProcess) -> None:
    array = np.random.default_rng(2).random(300_001, dtype=np.float32)
    payload = npy_bytes(array)
    small = b"a small file before the array"
    with Receiver() as receiver:
        envelope = {
            "id": "aligned-after-envelope",
            "webhook": receiver.url + "/hook",
            "webhook_events_filter": ["completed"],
            "input": {"doc": small, "sleep": 0.0, "x": payload},
        }
        response = post_msgpack(server, envelope)
        hook = receiver.wait_completed("aligned-after-envelope", timeout=60)
    assert hook["status"] == "succeeded"
    assert response["output"]["doc"]["len"] == len(small)
    assert_aligned_view_of_the_slab(response["output"]["x"], payload)


def test_a_large_file_before_the_array_does_not_take_the_alignment(
    server: ServerProcess,
) -> None:
    # above the 64 KiB threshold (a slab value itself), yet within the scanned start
    data = np.random.default_rng(3).bytes((64 << 10) + 1001)
    payload = npy_bytes(np.random.default_rng(4).random((256, 1024), dtype=np.float32))
    out = post_msgpack(server, {"input": {"doc": data, "x": payload}})["output"]
    assert out["doc"]["len"] == len(data)
    assert_aligned_view_of_the_slab(out["x"], payload)


def test_an_array_far_into_the_body_is_aligned_by_a_copy(server: ServerProcess) -> None:
    data = np.random.default_rng(3).bytes((1 << 20) + 3)
    payload = npy_bytes(np.random.default_rng(4).random((256, 1024), dtype=np.float32))
    out = post_msgpack(server, {"input": {"doc": data, "x": payload}})["output"]
    assert out["doc"]["len"] == len(data)
    assert out["x"]["aligned"] is True and out["x"]["address_mod_64"] == 0
    assert out["x"]["native_sum"] == native_sum(payload)


def test_two_large_arrays_are_both_aligned(server: ServerProcess) -> None:
    rng = np.random.default_rng(5)
    first = npy_bytes(rng.integers(0, 255, (1 << 20) + 1, dtype=np.uint8))
    second = npy_bytes(rng.random((8193, 3), dtype=np.float32))
    body = msgspec.msgpack.encode({"input": {"x": first, "points": second}})
    # the second payload lies at an odd distance from the first: unaligned where it lies
    assert (body.index(second) - body.index(first)) % 2
    out = post_msgpack(server, {"input": {"x": first, "points": second}})["output"]
    assert_aligned_view_of_the_slab(out["x"], first)
    points = out["points"]
    assert points["aligned"] is True and points["address_mod_64"] == 0
    assert points["shape"] == [8193, 3] and points["native_sum"] == native_sum(second)
    assert "cog-slab" not in points["shared"]  # an aligned copy


def test_a_second_array_that_numpy_sees_aligned_stays_in_place(server: ServerProcess) -> None:
    rng = np.random.default_rng(7)
    first = npy_bytes(rng.random((512, 512), dtype=np.float32))
    second = npy_bytes(rng.random((8193, 3), dtype=np.float32))
    body = msgspec.msgpack.encode({"input": {"x": first, "points": second}})
    assert (body.index(second) - body.index(first)) % 4 == 0
    out = post_msgpack(server, {"input": {"x": first, "points": second}})["output"]
    assert_aligned_view_of_the_slab(out["x"], first)
    points = out["points"]
    assert points["aligned"] is True and points["native_sum"] == native_sum(second)
    assert points["shared"].startswith("/dev/shm/cog-slab-")


def test_region_range_at_an_odd_offset_reaches_the_model_aligned(server: ServerProcess) -> None:
    array = np.random.default_rng(6).random((300, 200), dtype=np.float32)
    fortran = np.asfortranarray(array)
    with Client(server.url) as client, client.region(1 << 20, name="odd") as region:
        buf = region.segment.buf
        assert buf is not None
        buf[2 : 2 + array.nbytes] = array.tobytes()
        at = 2 + array.nbytes + 1
        buf[at : at + fortran.nbytes] = fortran.tobytes(order="F")
        ref = ShmRef(region.name, 2, array.nbytes, "<f4", (300, 200), "C")
        out = client.predict({"x": ref})["output"]["x"]
        assert out["aligned"] is True and out["address_mod_64"] == 0
        assert out["native_sum"] == float(array.sum())
        assert out["fortran"] is False and out["shape"] == [300, 200]
        out = client.predict(
            {"x": ShmRef(region.name, at, fortran.nbytes, "<f4", (300, 200), "F")}
        )["output"]["x"]
        assert out["aligned"] is True and out["address_mod_64"] == 0
        assert out["fortran"] is True and out["native_sum"] == float(fortran.sum())
