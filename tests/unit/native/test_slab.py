"""The slab allocator and descriptor views: compiled module and pure twin behave the same."""

import mmap
import random
from itertools import pairwise

import numpy as np
import pytest

from cog._native.select import native


@pytest.fixture(params=["compiled", "pure"])
def slab(request):
    return native("slab", pure=request.param == "pure")


def test_compiled_module_is_the_default():
    assert native("slab").__file__.endswith(".so")


def test_first_fit_and_merging(slab):
    a = slab.SlabAllocator(1 << 20, alignment=64)
    offsets = [a.alloc(1000) for _ in range(5)]
    assert offsets == [0, 1024, 2048, 3072, 4096]
    assert a.used == 5120 and a.allocations == 5
    a.free(offsets[1])
    a.free(offsets[3])
    assert a.free_ranges() == [(1024, 1024), (3072, 1024), (5120, (1 << 20) - 5120)]
    assert a.alloc(10) == 1024  # first fit reuses the hole
    a.free(1024)
    a.free(offsets[2])  # merges with both neighbours
    assert a.free_ranges() == [(1024, 3072), (5120, (1 << 20) - 5120)]
    for offset in (offsets[0], offsets[4]):
        a.free(offset)
    assert a.free_ranges() == [(0, 1 << 20)] and a.used == 0 and a.largest_free == 1 << 20


def test_full_returns_minus_one(slab):
    a = slab.SlabAllocator(4096, alignment=64)
    assert a.alloc(4096) == 0
    assert a.alloc(1) == -1
    assert a.largest_free == 0
    a.free(0)
    assert a.alloc(4097) == -1
    assert a.alloc(0) == 0 and a.size_of(0) == 64  # empty ranges still get a distinct offset


def test_shrink_gives_the_tail_back(slab):
    a = slab.SlabAllocator(1 << 16, alignment=64)
    offset = a.alloc(10_000)
    assert a.shrink(offset, 100) == 128
    assert a.used == 128 and a.size_of(offset) == 128
    assert a.free_ranges() == [(128, (1 << 16) - 128)]
    with pytest.raises(slab.SlabError, match="cannot shrink a range of 128 bytes to 500 bytes"):
        a.shrink(offset, 500)


def test_bad_frees(slab):
    a = slab.SlabAllocator(1 << 16)
    offset = a.alloc(100)
    a.free(offset)
    with pytest.raises(slab.SlabError, match="offset 0 is not the start of an allocated range"):
        a.free(offset)
    with pytest.raises(slab.SlabError, match="offset 64 is not the start"):
        a.shrink(64, 1)
    with pytest.raises(ValueError, match="alignment must be a power of two, not 48"):
        slab.SlabAllocator(100, alignment=48)
    with pytest.raises(ValueError, match="size must be >= 0"):
        a.alloc(-1)


def test_random_workload_keeps_invariants_and_matches_the_twin():
    rng = random.Random(3)
    compiled = native("slab", pure=False).SlabAllocator(1 << 22, alignment=256)
    pure = native("slab", pure=True).SlabAllocator(1 << 22, alignment=256)
    live: dict[int, int] = {}
    for _ in range(4000):
        if live and rng.random() < 0.45:
            offset = rng.choice(list(live))
            assert compiled.free(offset) == pure.free(offset) == live.pop(offset)
        else:
            size = rng.choice(
                [rng.randrange(1, 512), rng.randrange(1, 1 << 16), rng.randrange(1, 1 << 20)]
            )
            offset = compiled.alloc(size)
            assert pure.alloc(size) == offset
            if offset >= 0:
                live[offset] = compiled.size_of(offset)
                assert offset % 256 == 0 and live[offset] >= size
        free = compiled.free_ranges()
        assert free == pure.free_ranges()
        ranges = sorted([(o, s) for o, s in live.items()] + free)
        assert all(a + s == b for (a, s), (b, _) in pairwise(ranges))  # tiles, no overlap
        assert ranges[0][0] == 0 and sum(ranges[-1]) == 1 << 22
        assert all(a + s < b for (a, s), (b, _) in pairwise(free))  # neighbours merged
        assert compiled.used == pure.used == sum(live.values())


def test_array_view_shares_pages(slab):
    mm = mmap.mmap(-1, 1 << 16)
    array = slab.array_view(mm, 4096, 48, "float32", [3, 4])
    assert array.shape == (3, 4) and array.dtype == np.float32
    array[1, 2] = 5.0
    assert np.frombuffer(mm, np.float32, 12, 4096)[6] == 5.0
    flat = slab.array_view(mm, 4096, 48, "<f4")
    assert flat.shape == (12,) and flat[6] == 5.0
    raw = slab.array_view(mm, 4096 + 24, 4)
    assert isinstance(raw, memoryview) and bytes(raw) == np.float32(5.0).tobytes()
    frozen = slab.array_view(mm, 4096, 48, "float32", (3, 4), readonly=True)
    with pytest.raises(ValueError):
        frozen[0, 0] = 1
    assert slab.array_view(mm, 0, 0, "uint8", [0, 3]).shape == (0, 3)


@pytest.mark.parametrize(
    "offset, length, dtype, shape, message",
    [
        (4000, 200, "uint8", None, "range 4000+200 is outside the segment of 4096 bytes"),
        (-1, 4, "uint8", None, "range -1+4 is outside"),
        (
            0,
            48,
            "float32",
            [3, 5],
            "shape [3, 5] of float32 is 60 bytes, but the descriptor's length is 48",
        ),
        (0, 48, "float32", [3, -4], "shape must hold non-negative integers, not [3, -4]"),
        (0, 48, "float32", [3.0, 4], "shape must hold non-negative integers"),
        (0, 10, "float32", None, "10 bytes is not a whole number of float32 items (4 bytes each)"),
        (0, 8, "object", None, "dtype 'object' holds Python objects"),
        (0, 8, "floaty", None, "unknown dtype 'floaty'"),
        (0, 8, None, [8], "a descriptor with a shape needs a dtype"),
        (0, 48, "float32", [1 << 62, 1 << 62], "is 85070591730234615865843651857942052864 bytes"),
    ],
)
def test_bad_descriptors(slab, offset, length, dtype, shape, message):
    with pytest.raises(slab.SlabError) as info:
        slab.array_view(bytearray(4096), offset, length, dtype, shape)
    assert message in str(info.value)
