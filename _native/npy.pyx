# cython: language_level=3, boundscheck=False, wraparound=False
""".npy header parsing and writing, compiled. Same interface and errors as pure/npy.py.

The header dict is read by a small scanner that knows the three keys numpy writes
(string descr, True/False, a tuple of ints); anything else (a structured dtype's list
descr, an unusual spelling) goes to `ast.literal_eval`, as in the twin.
"""

import ast

import numpy as np
from numpy.lib import format as npformat

from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from libc.stdint cimport uint8_t
from libc.string cimport memcmp

MAGIC = b"\x93NUMPY"
ALIGN = 64
GROWTH_AXIS_MAX_DIGITS = 21
_VERSIONS = {(1, 0): (10, "latin1"), (2, 0): (12, "latin1"), (3, 0): (12, "utf8")}
cdef frozenset _KEYS = frozenset(["descr", "fortran_order", "shape"])
cdef dict _DTYPES = {}


class NpyError(ValueError):
    """A .npy payload whose preamble, header or size is wrong."""


cdef object _dtype(object descr):
    cached = _DTYPES.get(descr) if type(descr) is str else None
    if cached is not None:
        return cached
    try:
        dtype = npformat.descr_to_dtype(descr)
    except (TypeError, ValueError) as exc:
        raise NpyError(f"unsupported dtype descr {descr!r} in the .npy header: {exc}") from None
    if dtype.hasobject:
        raise NpyError(
            f"object arrays (descr {descr!r}) are not supported: loading them needs pickle")
    if type(descr) is str and len(_DTYPES) < 256:
        _DTYPES[descr] = dtype
    return dtype


cdef class _Scanner:
    """Reads numpy's own header spelling; `ok` turns False at anything unexpected."""

    cdef str text
    cdef Py_ssize_t i, n
    cdef bint ok

    def __cinit__(self, str text):
        self.text = text
        self.i = 0
        self.n = len(text)
        self.ok = True

    cdef void ws(self) noexcept:
        cdef Py_UCS4 c
        while self.i < self.n:
            c = self.text[self.i]
            if c != u' ' and c != u'\n' and c != u'\t' and c != u'\r':
                break
            self.i += 1

    cdef bint eat(self, Py_UCS4 ch) noexcept:
        self.ws()
        if self.i < self.n and self.text[self.i] == ch:
            self.i += 1
            return True
        return False

    cdef str string(self):
        self.ws()
        if self.i >= self.n:
            self.ok = False
            return None
        cdef Py_UCS4 q = self.text[self.i]
        if q != u"'" and q != u'"':
            self.ok = False
            return None
        cdef Py_ssize_t start = self.i + 1
        cdef Py_ssize_t j = start
        cdef Py_UCS4 c
        while j < self.n:
            c = self.text[j]
            if c == q:
                self.i = j + 1
                return self.text[start:j]
            if c == u'\\':
                break
            j += 1
        self.ok = False
        return None

    cdef object value(self):
        self.ws()
        if self.i >= self.n:
            self.ok = False
            return None
        cdef Py_UCS4 c = self.text[self.i]
        if c == u"'" or c == u'"':
            return self.string()
        if self.text.startswith("True", self.i):
            self.i += 4
            return True
        if self.text.startswith("False", self.i):
            self.i += 5
            return False
        if c == u'(':
            return self.ints()
        self.ok = False
        return None

    cdef tuple ints(self):
        cdef list out = []
        cdef Py_ssize_t start
        cdef Py_UCS4 c
        self.i += 1
        while True:
            if self.eat(u')'):
                if len(out) == 1 and not self.text[self.i - 2] == u',':
                    # `(3)` is an int in Python, not a tuple.
                    self.ok = False
                    return None
                return tuple(out)
            self.ws()
            start = self.i
            while self.i < self.n:
                c = self.text[self.i]
                if c < u'0' or c > u'9':
                    break
                self.i += 1
            if self.i == start or self.i - start > 19:
                self.ok = False
                return None
            out.append(int(self.text[start:self.i]))
            if not self.eat(u','):
                self.ws()
                if self.i >= self.n or self.text[self.i] != u')':
                    self.ok = False
                    return None

    cdef dict header(self):
        cdef dict out = {}
        if not self.eat(u'{'):
            self.ok = False
            return None
        while self.ok:
            if self.eat(u'}'):
                self.ws()
                if self.i != self.n:
                    self.ok = False
                return out
            key = self.string()
            if not self.ok or not self.eat(u':'):
                self.ok = False
                return None
            value = self.value()
            if not self.ok or key in out:
                self.ok = False
                return None
            out[key] = value
            if not self.eat(u','):
                self.ws()
                if self.i >= self.n or self.text[self.i] != u'}':
                    self.ok = False
        return None


cdef str _shape_text(tuple shape):
    return repr(shape)


cdef Py_ssize_t _growth_room(tuple shape, bint fortran_order):
    """Spaces numpy leaves so the growing axis can be rewritten in place (as numpy does)."""
    if not shape:
        return 0
    return GROWTH_AXIS_MAX_DIGITS - len(repr(shape[len(shape) - 1 if fortran_order else 0]))


def parse_header(buf, Py_ssize_t total_size=-1):
    """(dtype, shape, data_offset, fortran_order) of a .npy payload.

    `total_size` is the size of the whole payload when `buf` holds only its start
    (the header of a body still streaming in); by default it is `len(buf)`.
    """
    cdef Py_buffer view
    cdef const uint8_t* b
    cdef Py_ssize_t n, preamble, header_len, offset, size
    PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
    try:
        b = <const uint8_t*>view.buf
        n = view.len
        size = n if total_size < 0 else total_size
        if n < 10:
            raise NpyError(f"truncated .npy payload: {n} bytes is shorter than its preamble")
        if memcmp(b, b"\x93NUMPY", 6) != 0:
            raise NpyError(
                f"not a .npy payload: it starts with {b[:6]!r}, expected {MAGIC!r}")
        if b[6] == 1 and b[7] == 0:
            preamble = 10
            header_len = b[8] | (b[9] << 8)
            encoding = "latin1"
        elif (b[6] == 2 or b[6] == 3) and b[7] == 0:
            preamble = 12
            if n < preamble:
                raise NpyError(
                    f"truncated .npy payload: {n} bytes is shorter than its preamble")
            header_len = (<Py_ssize_t>b[8] | (<Py_ssize_t>b[9] << 8)
                          | (<Py_ssize_t>b[10] << 16) | (<Py_ssize_t>b[11] << 24))
            encoding = "latin1" if b[6] == 2 else "utf8"
        else:
            raise NpyError(
                f"unsupported .npy format version {b[6]}.{b[7]} (supported: 1.0, 2.0, 3.0)")
        offset = preamble + header_len
        if offset > n:
            raise NpyError(
                f"truncated .npy header: it claims {header_len} bytes but only "
                f"{n - preamble} follow the preamble")
        try:
            text = b[preamble:offset].decode(encoding)
        except UnicodeDecodeError as exc:
            raise NpyError(f"the .npy header is not {encoding} text: {exc}") from None
    finally:
        PyBuffer_Release(&view)
    scanner = _Scanner(text)
    header = scanner.header()
    if not scanner.ok:
        try:
            header = ast.literal_eval(text)
        except (SyntaxError, ValueError) as exc:
            raise NpyError(f"malformed .npy header {text.strip()!r}: {exc}") from None
    return _validate(header, text, offset, size)


cdef tuple _validate(object header, str text, Py_ssize_t offset, Py_ssize_t size):
    if not isinstance(header, dict):
        raise NpyError(f"the .npy header is not a dict: {text.strip()!r}")
    if len(header) != 3 or not _KEYS.issuperset(header):
        raise NpyError(
            "the .npy header must have exactly the keys 'descr', 'fortran_order' and 'shape', "
            f"not {sorted(map(repr, header))}")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(
            type(n) is int and 0 <= n < 2**63 for n in shape):
        raise NpyError(f"the .npy shape must be a tuple of non-negative integers, not {shape!r}")
    fortran_order = header["fortran_order"]
    if type(fortran_order) is not bool:
        raise NpyError(f"the .npy fortran_order must be True or False, not {fortran_order!r}")
    dtype = _dtype(header["descr"])
    count = 1
    for n in shape:
        count *= n
    need = count * dtype.itemsize
    present = size - offset
    if need != present:
        what = "truncated .npy data" if need > present else "trailing bytes after the .npy data"
        raise NpyError(
            f"{what}: the header says shape {_shape_text(shape)} of {dtype} = {need} bytes, "
            f"but {present} bytes follow the header")
    return dtype, shape, offset, fortran_order


def load(buf):
    """The array in a .npy payload, as a view of `buf` (no copy; writable if `buf` is)."""
    dtype, shape, offset, fortran_order = parse_header(buf)
    return np.ndarray(shape, dtype, buffer=buf, offset=offset, order="F" if fortran_order else "C")


def header_bytes(dtype, shape, bint fortran_order=False):
    """Preamble and header of a .npy payload; the array's raw bytes follow it."""
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise NpyError(f"object arrays ({dtype}) cannot be written as .npy without pickle")
    descr = npformat.dtype_to_descr(dtype)
    dims = tuple([int(n) for n in shape])
    text = "{'descr': %r, 'fortran_order': %r, 'shape': %s, }" % (
        descr, bool(fortran_order), _shape_text(dims))
    text += " " * _growth_room(dims, fortran_order)
    cdef Py_ssize_t preamble, header_len
    for (major, minor), (preamble, encoding) in _VERSIONS.items():
        try:
            encoded = text.encode(encoding)
        except UnicodeEncodeError:
            continue
        # numpy's padding: a full ALIGN of spaces when already aligned.
        header_len = len(encoded) + 1 + ALIGN - (preamble + len(encoded) + 1) % ALIGN
        if preamble == 10 and header_len > 0xFFFF:
            continue
        return (MAGIC + bytes((major, minor)) + header_len.to_bytes(preamble - 8, "little")
                + encoded + b" " * (header_len - len(encoded) - 1) + b"\n")
    raise NpyError(f"dtype {dtype} cannot be described in a .npy header")
