"""cog.shm in one process: the pool, data URLs and .npy payloads decoded into it, and a
worker-side mapping fed over a real socket pair."""

from __future__ import annotations

import base64
import io
import os

import numpy as np
import pytest

from cog._native.select import native
from cog.shm import SHM_DIR, Descriptor, Segment, Slab, SlabFull, SlabMapping

pytestmark = pytest.mark.skipif(not os.path.isdir(SHM_DIR), reason="needs /dev/shm")


@pytest.fixture
def slab():
    pool = Slab(1 << 20, max_size=8 << 20)
    yield pool
    pool.close()


def npy_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def test_pool_leaves_no_name_behind(slab):
    assert not [n for n in os.listdir(SHM_DIR) if n.startswith(f"cog-slab-{os.getpid()}-")]
    assert slab.capacity == 1 << 20 and slab.used == 0


def test_alloc_write_free(slab):
    block = slab.put(b"x" * 1000)
    assert bytes(slab.buffer(block)) == b"x" * 1000
    assert slab.used == 1024
    slab.free(block)
    assert slab.used == 0


def test_grows_by_a_segment_then_refuses_past_its_maximum(slab):
    big = slab.alloc(3 << 20)
    assert big.segment == 1 and len(slab.segments) == 2 and slab.capacity == 4 << 20
    with pytest.raises(SlabFull, match="over its maximum of 8388608"):
        slab.alloc(5 << 20)


def test_data_uri_decodes_into_the_slab(slab):
    raw = os.urandom(100_000)
    uri = "data:application/octet-stream;base64," + base64.b64encode(raw).decode()
    header, block = slab.put_data_uri(uri)
    assert header.media_type == "application/octet-stream"
    assert block.length == len(raw) and bytes(slab.buffer(block)) == raw


def test_data_uri_with_line_breaks_gives_back_the_slack(slab):
    raw = os.urandom(10_000)
    uri = "data:;base64," + base64.encodebytes(raw).decode()
    _, block = slab.put_data_uri(uri)
    assert block.length == len(raw) and bytes(slab.buffer(block)) == raw
    assert slab.used == -(-len(raw) // 64) * 64


def test_bad_data_uri_frees_its_block(slab):
    with pytest.raises(native("datauri").DataURIError, match="position 21"):
        slab.put_data_uri("data:;base64,QUJDQUJD!!!!")
    assert slab.used == 0


@pytest.mark.parametrize(
    "array",
    [
        np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        np.asfortranarray(np.arange(6, dtype=">i8").reshape(2, 3)),
        np.array(2.5),
    ],
)
def test_npy_payload_becomes_a_descriptor(slab, array):
    uri = "data:application/x-npy;base64," + base64.b64encode(npy_bytes(array)).decode()
    _, block = slab.put_data_uri(uri)
    desc = slab.npy_descriptor(block)
    view = slab.view(desc)
    assert view.dtype == array.dtype and view.shape == array.shape
    assert np.array_equal(view, array)
    assert view.flags.f_contiguous == array.flags.f_contiguous


def test_structured_npy_is_refused(slab):
    block = slab.put(npy_bytes(np.zeros(2, dtype=[("a", "<i4")])))
    with pytest.raises(native("npy").NpyError, match="structured dtype"):
        slab.npy_descriptor(block)


def test_descriptor_round_trips_through_msgpack():
    import msgspec

    desc = Descriptor(1, 4096, 48, "<f4", (3, 4), "C")
    wire = msgspec.msgpack.encode(desc)
    assert msgspec.msgpack.decode(wire, type=Descriptor) == desc
    assert len(wire) < 24


def test_mapping_over_a_socket_pair_sees_the_same_pages(slab):
    mapping = SlabMapping(slab.peer_socket())
    try:
        block = slab.alloc(48)
        desc = slab.descriptor(block, "float32", (3, 4))
        slab.view(desc)[:] = 1.5
        seen = mapping.view(desc)
        assert seen.shape == (3, 4) and (seen == 1.5).all()
        seen[0, 0] = 9.0  # same pages both ways
        assert slab.view(desc)[0, 0] == 9.0
        # A segment added later reaches the mapping when a descriptor needs it.
        grown = slab.alloc(2 << 20)
        slab.buffer(grown)[:4] = b"abcd"
        raw = mapping.view(slab.descriptor(grown))
        assert bytes(raw[:4]) == b"abcd" and sorted(mapping.segments) == [0, 1]
        assert mapping.view(desc, readonly=True).flags.writeable is False
    finally:
        mapping.close()


def test_unknown_segment_is_a_clear_error(slab):
    mapping = SlabMapping(slab.peer_socket())
    try:
        with pytest.raises(native("slab").SlabError, match="segment 7 is not mapped"):
            mapping.view(Descriptor(7, 0, 4), timeout=0.2)
    finally:
        mapping.close()


def test_full_dev_shm_is_an_error_not_a_crash():
    with pytest.raises((SlabFull, OSError)):
        Segment.create(1 << 50)


def test_threads_decode_into_the_slab_at_once(slab):
    import threading

    payloads = [os.urandom(50_000 + i) for i in range(16)]
    uris = ["data:;base64," + base64.b64encode(p).decode() for p in payloads]
    results: dict[int, bytes] = {}

    def work(i: int) -> None:
        for _ in range(5):
            _, block = slab.put_data_uri(uris[i])
            results[i] = bytes(slab.buffer(block))
            slab.free(block)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [results[i] for i in range(16)] == payloads
    assert slab.used == 0
