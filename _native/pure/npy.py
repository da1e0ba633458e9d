""".npy header parsing and writing (pure-Python twin of npy.pyx).

A `.npy` payload is a preamble (magic `\\x93NUMPY`, version, header length), a header
that is a Python dict literal `{'descr': ..., 'fortran_order': ..., 'shape': (...), }`,
then the raw array bytes. The header is untrusted input: its size claim is checked
against the bytes present, object dtypes (which need pickle) are refused, and every
error says what was wrong.
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
from numpy.lib import format as npformat

MAGIC = b"\x93NUMPY"
#: Alignment of the data start that numpy writes (and that this module writes).
ALIGN = 64
_GROWTH_AXIS_MAX_DIGITS = 21
_VERSIONS = {(1, 0): (10, "latin1"), (2, 0): (12, "latin1"), (3, 0): (12, "utf8")}
_KEYS = ["descr", "fortran_order", "shape"]


class NpyError(ValueError):
    """A .npy payload whose preamble, header or size is wrong."""


def _dtype(descr: Any) -> np.dtype[Any]:
    try:
        dtype = npformat.descr_to_dtype(descr)
    except (TypeError, ValueError) as exc:
        raise NpyError(f"unsupported dtype descr {descr!r} in the .npy header: {exc}") from None
    if dtype.hasobject:
        raise NpyError(
            f"object arrays (descr {descr!r}) are not supported: loading them needs pickle"
        )
    return dtype


def _shape_text(shape: tuple[int, ...]) -> str:
    return repr(tuple(shape))


def parse_header(
    buf: Any, total_size: int = -1
) -> tuple[np.dtype[Any], tuple[int, ...], int, bool]:
    """(dtype, shape, data_offset, fortran_order) of a .npy payload.

    `total_size` is the size of the whole payload when `buf` holds only its start
    (the header of a body still streaming in); by default it is `len(buf)`.
    """
    view = memoryview(buf).cast("B")
    size = view.nbytes if total_size < 0 else total_size
    if view.nbytes < 10:
        raise NpyError(f"truncated .npy payload: {view.nbytes} bytes is shorter than its preamble")
    if bytes(view[:6]) != MAGIC:
        raise NpyError(
            f"not a .npy payload: it starts with {bytes(view[:6])!r}, expected {MAGIC!r}"
        )
    version = (view[6], view[7])
    if version not in _VERSIONS:
        raise NpyError(
            f"unsupported .npy format version {version[0]}.{version[1]} (supported: 1.0, 2.0, 3.0)"
        )
    preamble, encoding = _VERSIONS[version]
    if view.nbytes < preamble:
        raise NpyError(f"truncated .npy payload: {view.nbytes} bytes is shorter than its preamble")
    header_len = int.from_bytes(view[8:preamble], "little")
    offset = preamble + header_len
    if offset > view.nbytes:
        raise NpyError(
            f"truncated .npy header: it claims {header_len} bytes but only "
            f"{view.nbytes - preamble} follow the preamble"
        )
    try:
        text = bytes(view[preamble:offset]).decode(encoding)
    except UnicodeDecodeError as exc:
        raise NpyError(f"the .npy header is not {encoding} text: {exc}") from None
    try:
        header = ast.literal_eval(text)
    except (SyntaxError, ValueError) as exc:
        raise NpyError(f"malformed .npy header {text.strip()!r}: {exc}") from None
    return _validate(header, text, offset, size)


def _validate(
    header: Any, text: str, offset: int, size: int
) -> tuple[np.dtype[Any], tuple[int, ...], int, bool]:
    if not isinstance(header, dict):
        raise NpyError(f"the .npy header is not a dict: {text.strip()!r}")
    if set(header) != set(_KEYS):
        raise NpyError(
            "the .npy header must have exactly the keys 'descr', 'fortran_order' and 'shape', "
            f"not {sorted(map(repr, header))}"
        )
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(type(n) is int and 0 <= n < 2**63 for n in shape):
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
            f"but {present} bytes follow the header"
        )
    return dtype, shape, offset, fortran_order


def load(buf: Any) -> np.ndarray[Any, Any]:
    """The array in a .npy payload, as a view of `buf` (no copy; writable if `buf` is)."""
    dtype, shape, offset, fortran_order = parse_header(buf)
    return np.ndarray(shape, dtype, buffer=buf, offset=offset, order="F" if fortran_order else "C")


def header_bytes(dtype: Any, shape: tuple[int, ...], fortran_order: bool = False) -> bytes:
    """Preamble and header of a .npy payload; the array's raw bytes follow it."""
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise NpyError(f"object arrays ({dtype}) cannot be written as .npy without pickle")
    descr = npformat.dtype_to_descr(dtype)
    dims = tuple(int(n) for n in shape)
    text = (
        f"{{'descr': {descr!r}, 'fortran_order': {bool(fortran_order)!r}, "
        f"'shape': {_shape_text(dims)}, }}"
    )
    if dims:
        # Room for the growing axis to be rewritten in place, as numpy leaves it.
        text += " " * (_GROWTH_AXIS_MAX_DIGITS - len(repr(dims[-1 if fortran_order else 0])))
    for (major, minor), (preamble, encoding) in _VERSIONS.items():
        try:
            encoded = text.encode(encoding)
        except UnicodeEncodeError:
            continue
        # numpy's padding: a full ALIGN of spaces when already aligned.
        header_len = len(encoded) + 1 + ALIGN - (preamble + len(encoded) + 1) % ALIGN
        if preamble == 10 and header_len > 0xFFFF:
            continue
        return (
            MAGIC
            + bytes((major, minor))
            + header_len.to_bytes(preamble - 8, "little")
            + encoded
            + b" " * (header_len - len(encoded) - 1)
            + b"\n"
        )
    raise NpyError(f"dtype {dtype} cannot be described in a .npy header")
