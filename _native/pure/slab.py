"""Byte-range allocator and descriptor views of a slab (pure-Python twin of slab.pyx).

The front owns a few large shared-memory segments; each has one `SlabAllocator`
handing out aligned byte ranges first-fit from an offset-sorted free list, and merging
neighbours on free so the big ranges that large inputs need come back. `array_view`
turns a descriptor `(offset, length, dtype, shape)` into a numpy array over the same
pages (in the worker, over its own mapping of the segment): no copy.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np


class SlabError(ValueError):
    """A descriptor that does not fit its segment, or a bad free."""


class SlabAllocator:
    """Aligned first-fit allocation of byte ranges in [0, capacity)."""

    def __init__(self, capacity: int, alignment: int = 64) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, not {capacity}")
        if alignment < 1 or alignment & (alignment - 1):
            raise ValueError(f"alignment must be a power of two, not {alignment}")
        self.capacity = capacity - capacity % alignment
        self.alignment = alignment
        self._starts: list[int] = [0] if self.capacity else []
        self._sizes: list[int] = [self.capacity] if self.capacity else []
        self._blocks: dict[int, int] = {}
        self.used = 0

    def _round(self, size: int) -> int:
        if size < 0:
            raise ValueError(f"size must be >= 0, not {size}")
        a = self.alignment
        return max(a, (size + a - 1) // a * a)

    def alloc(self, size: int) -> int:
        """Offset of a new range of at least `size` bytes, or -1 when none is free."""
        need = self._round(size)
        for i, free in enumerate(self._sizes):
            if free >= need:
                offset = self._starts[i]
                if free == need:
                    del self._starts[i], self._sizes[i]
                else:
                    self._starts[i] += need
                    self._sizes[i] -= need
                self._blocks[offset] = need
                self.used += need
                return offset
        return -1

    def _release(self, start: int, size: int) -> None:
        i = bisect.bisect_left(self._starts, start)
        if i > 0 and self._starts[i - 1] + self._sizes[i - 1] == start:
            i -= 1
            self._sizes[i] += size
        else:
            self._starts.insert(i, start)
            self._sizes.insert(i, size)
        if i + 1 < len(self._starts) and self._starts[i] + self._sizes[i] == self._starts[i + 1]:
            self._sizes[i] += self._sizes[i + 1]
            del self._starts[i + 1], self._sizes[i + 1]

    def free(self, offset: int) -> int:
        """Return the range at `offset` to the free list; give its (rounded) size."""
        size = self._blocks.pop(offset, None)
        if size is None:
            raise SlabError(f"offset {offset} is not the start of an allocated range")
        self.used -= size
        self._release(offset, size)
        return size

    def shrink(self, offset: int, size: int) -> int:
        """Keep the first `size` bytes of the range at `offset`, free the rest; new size."""
        old = self._blocks.get(offset)
        if old is None:
            raise SlabError(f"offset {offset} is not the start of an allocated range")
        new = self._round(size)
        if new > old:
            raise SlabError(f"cannot shrink a range of {old} bytes to {size} bytes")
        if new < old:
            self._blocks[offset] = new
            self.used -= old - new
            self._release(offset + new, old - new)
        return new

    def size_of(self, offset: int) -> int:
        """The (rounded) size of the allocated range at `offset`."""
        size = self._blocks.get(offset)
        if size is None:
            raise SlabError(f"offset {offset} is not the start of an allocated range")
        return size

    @property
    def largest_free(self) -> int:
        return max(self._sizes, default=0)

    @property
    def allocations(self) -> int:
        return len(self._blocks)

    def free_ranges(self) -> list[tuple[int, int]]:
        """(offset, size) of every free range, by offset."""
        return list(zip(self._starts, self._sizes, strict=True))


_DTYPES: dict[str, np.dtype[Any]] = {}


def dtype_of(name: str) -> np.dtype[Any]:
    """A numpy dtype from its name in a descriptor ('float32', '<f4'); object dtypes refused."""
    dtype = _DTYPES.get(name)
    if dtype is not None:
        return dtype
    try:
        dtype = np.dtype(name)
    except TypeError:
        raise SlabError(f"unknown dtype {name!r} in the descriptor") from None
    if dtype.hasobject:
        raise SlabError(f"dtype {name!r} holds Python objects and cannot live in shared memory")
    if len(_DTYPES) < 256:
        _DTYPES[name] = dtype
    return dtype


def array_view(
    buf: Any,
    offset: int,
    length: int,
    dtype: str | None = None,
    shape: Any = None,
    readonly: bool = False,
) -> Any:
    """buf[offset:offset+length] as a numpy array of `dtype` and `shape`, or a memoryview
    when `dtype` is None; the pages are shared, never copied."""
    view = memoryview(buf)
    if offset < 0 or length < 0 or offset + length > view.nbytes:
        raise SlabError(f"range {offset}+{length} is outside the segment of {view.nbytes} bytes")
    if dtype is None:
        if shape is not None:
            raise SlabError("a descriptor with a shape needs a dtype")
        out = view[offset : offset + length]
        return out.toreadonly() if readonly else out
    dt = dtype_of(dtype)
    if shape is None:
        if length % dt.itemsize:
            raise SlabError(
                f"{length} bytes is not a whole number of {dt} items ({dt.itemsize} bytes each)"
            )
        dims: tuple[int, ...] = (length // dt.itemsize,)
    else:
        dims = tuple(shape)
        count = 1
        for n in dims:
            if type(n) is not int or n < 0:
                raise SlabError(f"shape must hold non-negative integers, not {list(dims)}")
            count *= n
        if count * dt.itemsize != length:
            raise SlabError(
                f"shape {list(dims)} of {dt} is {count * dt.itemsize} bytes, "
                f"but the descriptor's length is {length}"
            )
    array = np.ndarray(dims, dt, buffer=view, offset=offset)
    if readonly:
        array.flags.writeable = False
    return array
