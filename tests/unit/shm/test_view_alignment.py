"""Descriptors to arrays: aligned ones are views of the slab, unaligned ones aligned copies."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from cog.shm import Descriptor, Slab


@pytest.fixture
def slab() -> Iterator[Slab]:
    s = Slab(1 << 20)
    yield s
    s.close()


def place(slab: Slab, array: np.ndarray, skew: int, order: str = "C") -> Descriptor:
    """The array's bytes `skew` bytes past a 64-byte aligned block start."""
    data = array.tobytes(order=order)  # type: ignore[arg-type]
    block = slab.alloc(len(data) + 64)
    slab.buffer(block)[skew : skew + len(data)] = data
    return Descriptor(
        block.segment, block.offset + skew, len(data), array.dtype.str, array.shape, order
    )


def shares(array: np.ndarray, slab: Slab) -> bool:
    segment = slab.segments[0].buf
    assert segment is not None
    return bool(np.shares_memory(array, np.frombuffer(segment, np.uint8)))


@pytest.mark.parametrize("skew", [0, 4, 8, 64])
def test_aligned_descriptors_stay_views(slab: Slab, skew: int) -> None:
    array = np.arange(1000, dtype=np.float32).reshape(10, 100)
    view = slab.view(place(slab, array, skew))
    assert view.flags.aligned and shares(view, slab)
    view[0, 0] = 7  # writable, and the slab's own bytes change
    assert slab.view(place(slab, array, skew)).flags.aligned


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("skew", [1, 2, 15, 63])
def test_unaligned_descriptors_give_aligned_copies(slab: Slab, skew: int, order: str) -> None:
    array = np.random.default_rng(skew).random((30, 70)).astype(np.float32)
    desc = place(slab, array, skew, order)
    in_place = np.ndarray(array.shape, np.float32, slab.segments[0].buf, desc.offset)
    assert not in_place.flags.aligned
    out = slab.view(desc)
    assert out.flags.aligned and out.ctypes.data % 64 == 0
    assert not shares(out, slab)
    assert out.dtype == np.float32 and out.shape == (30, 70)
    assert out.flags.f_contiguous if order == "F" else out.flags.c_contiguous
    np.testing.assert_array_equal(out, array)
    same = np.asfortranarray(array) if order == "F" else array
    assert out.sum() == same.sum()  # the sum numpy gives an aligned array
    assert out.flags.writeable
    assert not slab.view(desc, readonly=True).flags.writeable


def test_bytes_and_one_byte_items_are_never_copied(slab: Slab) -> None:
    array = np.arange(100, dtype=np.uint8)
    desc = place(slab, array, 3)
    assert shares(slab.view(desc), slab)
    raw = Descriptor(desc.segment, desc.offset, desc.length)
    assert isinstance(slab.view(raw), memoryview)


def test_big_endian_and_empty_arrays(slab: Slab) -> None:
    array = np.arange(12, dtype=">i8").reshape(3, 4)
    out = slab.view(place(slab, array, 5))
    assert out.dtype == np.dtype(">i8") and out.flags.aligned
    np.testing.assert_array_equal(out, array)
    empty = slab.view(place(slab, np.zeros((0, 3), np.float64), 3))
    assert empty.shape == (0, 3)
