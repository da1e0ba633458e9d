# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Byte-range allocator and descriptor views of a slab, compiled. Same interface as pure/slab.py.

The free list is two C arrays (start, size) sorted by start: first-fit is a linear
scan of a few entries, a free is a binary search plus a merge with its neighbours.
"""

from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from cpython.mem cimport PyMem_Malloc, PyMem_Realloc, PyMem_Free
from libc.string cimport memmove

import numpy as np


class SlabError(ValueError):
    """A descriptor that does not fit its segment, or a bad free."""


cdef class SlabAllocator:
    """Aligned first-fit allocation of byte ranges in [0, capacity)."""

    cdef readonly Py_ssize_t capacity
    cdef readonly Py_ssize_t alignment
    cdef readonly Py_ssize_t used
    cdef Py_ssize_t* starts
    cdef Py_ssize_t* sizes
    cdef Py_ssize_t nfree
    cdef Py_ssize_t room
    cdef dict blocks

    def __cinit__(self, Py_ssize_t capacity, Py_ssize_t alignment=64):
        self.starts = NULL
        self.sizes = NULL
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, not {capacity}")
        if alignment < 1 or alignment & (alignment - 1):
            raise ValueError(f"alignment must be a power of two, not {alignment}")
        self.capacity = capacity - capacity % alignment
        self.alignment = alignment
        self.used = 0
        self.room = 16
        self.starts = <Py_ssize_t*>PyMem_Malloc(self.room * sizeof(Py_ssize_t))
        self.sizes = <Py_ssize_t*>PyMem_Malloc(self.room * sizeof(Py_ssize_t))
        if self.starts == NULL or self.sizes == NULL:
            raise MemoryError()
        self.nfree = 0
        if self.capacity:
            self.starts[0] = 0
            self.sizes[0] = self.capacity
            self.nfree = 1
        self.blocks = {}

    def __dealloc__(self):
        PyMem_Free(self.starts)
        PyMem_Free(self.sizes)

    cdef Py_ssize_t _round(self, Py_ssize_t size) except -1:
        if size < 0:
            raise ValueError(f"size must be >= 0, not {size}")
        cdef Py_ssize_t a = self.alignment
        size = (size + a - 1) & ~(a - 1)
        return size if size else a

    def alloc(self, Py_ssize_t size):
        """Offset of a new range of at least `size` bytes, or -1 when none is free."""
        cdef Py_ssize_t need = self._round(size)
        cdef Py_ssize_t i, offset
        for i in range(self.nfree):
            if self.sizes[i] >= need:
                offset = self.starts[i]
                if self.sizes[i] == need:
                    self._remove(i)
                else:
                    self.starts[i] += need
                    self.sizes[i] -= need
                self.blocks[offset] = need
                self.used += need
                return offset
        return -1

    cdef void _remove(self, Py_ssize_t i) noexcept:
        memmove(&self.starts[i], &self.starts[i + 1], (self.nfree - i - 1) * sizeof(Py_ssize_t))
        memmove(&self.sizes[i], &self.sizes[i + 1], (self.nfree - i - 1) * sizeof(Py_ssize_t))
        self.nfree -= 1

    cdef int _insert(self, Py_ssize_t i, Py_ssize_t start, Py_ssize_t size) except -1:
        cdef Py_ssize_t* s
        cdef Py_ssize_t* z
        if self.nfree == self.room:
            s = <Py_ssize_t*>PyMem_Realloc(self.starts, 2 * self.room * sizeof(Py_ssize_t))
            if s == NULL:
                raise MemoryError()
            self.starts = s
            z = <Py_ssize_t*>PyMem_Realloc(self.sizes, 2 * self.room * sizeof(Py_ssize_t))
            if z == NULL:
                raise MemoryError()
            self.sizes = z
            self.room *= 2
        memmove(&self.starts[i + 1], &self.starts[i], (self.nfree - i) * sizeof(Py_ssize_t))
        memmove(&self.sizes[i + 1], &self.sizes[i], (self.nfree - i) * sizeof(Py_ssize_t))
        self.starts[i] = start
        self.sizes[i] = size
        self.nfree += 1
        return 0

    cdef int _release(self, Py_ssize_t start, Py_ssize_t size) except -1:
        cdef Py_ssize_t lo = 0, hi = self.nfree, mid
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.starts[mid] < start:
                lo = mid + 1
            else:
                hi = mid
        cdef Py_ssize_t i = lo
        if i > 0 and self.starts[i - 1] + self.sizes[i - 1] == start:
            i -= 1
            self.sizes[i] += size
        else:
            self._insert(i, start, size)
        if i + 1 < self.nfree and self.starts[i] + self.sizes[i] == self.starts[i + 1]:
            self.sizes[i] += self.sizes[i + 1]
            self._remove(i + 1)
        return 0

    def free(self, Py_ssize_t offset):
        """Return the range at `offset` to the free list; give its (rounded) size."""
        size = self.blocks.pop(offset, None)
        if size is None:
            raise SlabError(f"offset {offset} is not the start of an allocated range")
        self.used -= <Py_ssize_t>size
        self._release(offset, size)
        return size

    def shrink(self, Py_ssize_t offset, Py_ssize_t size):
        """Keep the first `size` bytes of the range at `offset`, free the rest; new size."""
        old_obj = self.blocks.get(offset)
        if old_obj is None:
            raise SlabError(f"offset {offset} is not the start of an allocated range")
        cdef Py_ssize_t old = old_obj
        cdef Py_ssize_t new = self._round(size)
        if new > old:
            raise SlabError(f"cannot shrink a range of {old} bytes to {size} bytes")
        if new < old:
            self.blocks[offset] = new
            self.used -= old - new
            self._release(offset + new, old - new)
        return new

    def size_of(self, Py_ssize_t offset):
        """The (rounded) size of the allocated range at `offset`."""
        size = self.blocks.get(offset)
        if size is None:
            raise SlabError(f"offset {offset} is not the start of an allocated range")
        return size

    @property
    def largest_free(self):
        cdef Py_ssize_t best = 0, i
        for i in range(self.nfree):
            if self.sizes[i] > best:
                best = self.sizes[i]
        return best

    @property
    def allocations(self):
        return len(self.blocks)

    def free_ranges(self):
        """(offset, size) of every free range, by offset."""
        return [(self.starts[i], self.sizes[i]) for i in range(self.nfree)]


cdef dict _DTYPES = {}


def dtype_of(str name):
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


_ndarray = np.ndarray


def array_view(buf, Py_ssize_t offset, Py_ssize_t length, str dtype=None, shape=None,
               bint readonly=False):
    """buf[offset:offset+length] as a numpy array of `dtype` and `shape`, or a memoryview
    when `dtype` is None; the pages are shared, never copied."""
    cdef Py_buffer view
    PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
    cdef Py_ssize_t total = view.len
    PyBuffer_Release(&view)
    if offset < 0 or length < 0 or offset > total - length:
        raise SlabError(f"range {offset}+{length} is outside the segment of {total} bytes")
    if dtype is None:
        if shape is not None:
            raise SlabError("a descriptor with a shape needs a dtype")
        out = memoryview(buf)[offset:offset + length]
        return out.toreadonly() if readonly else out
    dt = dtype_of(dtype)
    cdef Py_ssize_t itemsize = dt.itemsize
    cdef tuple dims
    if shape is None:
        if length % itemsize:
            raise SlabError(
                f"{length} bytes is not a whole number of {dt} items ({itemsize} bytes each)")
        dims = (length // itemsize,)
    else:
        dims = tuple(shape)
        for item in dims:
            if type(item) is not int or item < 0:
                raise SlabError(f"shape must hold non-negative integers, not {list(dims)}")
        # Python ints: a hostile shape cannot overflow the size check.
        pcount = 1
        for item in dims:
            pcount *= item
        if pcount * itemsize != length:
            raise SlabError(
                f"shape {list(dims)} of {dt} is {pcount * itemsize} bytes, "
                f"but the descriptor's length is {length}")
    array = _ndarray(dims, dt, buffer=buf, offset=offset)
    if readonly:
        array.flags.writeable = False
    return array
