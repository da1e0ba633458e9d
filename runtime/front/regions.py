"""Shared-memory regions that same-host clients register, and the `$shm` references into them.

A client creates a segment in /dev/shm, registers it (`POST /shm/regions`), and then
sends `{"$shm": {"region", "offset", "length", "dtype"?, "shape"?, "order"?}}` values: the
model sees those bytes with no copy. The server maps the segment by name, shares it with
the workers over the slab's descriptor channel, and checks every reference against it.
Off unless the operator enables it (`--shm-regions`, `COG_SHM_REGIONS=1`): a client could
otherwise make the server map any segment its user can open.
"""

from __future__ import annotations

import functools
import math
from types import ModuleType
from typing import Any

import msgspec

from cog._native.select import native
from cog.shm import Descriptor, Segment, Slab

SHM_KEY = "$shm"
DISABLED = (
    "shared-memory regions are disabled on this server; start it with --shm-regions "
    "or COG_SHM_REGIONS=1 to use them (same host only)"
)


@functools.cache
def _npy() -> ModuleType:
    """The compiled .npy parser imports numpy: loaded at the first array, not at start-up."""
    return native("npy")


class RefError(ValueError):
    """A `$shm` reference that cannot be served; the message says what is wrong."""


class _Registration(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    key: str
    size: int


class ShmRef(msgspec.Struct, forbid_unknown_fields=True):
    region: str
    offset: int
    length: int
    dtype: str | None = None
    shape: list[int] | None = None
    order: str = "C"


_registration = msgspec.json.Decoder(_Registration)
_ref = msgspec.convert


def is_ref(value: Any) -> bool:
    return type(value) is dict and len(value) == 1 and SHM_KEY in value


class Regions:
    """The regions registered with this server, by client-chosen name."""

    def __init__(self, slab: Slab, enabled: bool) -> None:
        self.slab = slab
        self.enabled = enabled
        self._regions: dict[str, tuple[Segment, int]] = {}

    def register(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """`POST /shm/regions`: (status, JSON body)."""
        if not self.enabled:
            return 403, {"detail": DISABLED}
        try:
            req = _registration.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return 400, {
                "detail": f"a region registration is {{'name': str, 'key': str, 'size': int}}: {exc}"
            }
        if not req.name or "/" in req.name:
            return 400, {"detail": f"region name {req.name!r} must be non-empty, without '/'"}
        if req.size <= 0:
            return 400, {"detail": f"region size must be positive, not {req.size}"}
        if req.name in self._regions:
            return 409, {"detail": f"a region named {req.name!r} is already registered"}
        try:
            segment = Segment.open(req.key)
        except (OSError, ValueError) as exc:
            return 400, {"detail": f"cannot map shared memory {req.key!r}: {exc}"}
        if segment.size < req.size:
            segment.close()
            return 400, {
                "detail": f"cannot map shared memory {req.key!r}: it has {segment.size} bytes, "
                f"fewer than the {req.size} registered"
            }
        segment.size = req.size  # references are checked against what the client declared
        self._regions[req.name] = (segment, self.slab.attach(segment))
        return 201, {"name": req.name, "size": req.size}

    def unregister(self, name: str) -> tuple[int, dict[str, Any]]:
        """`DELETE /shm/regions/{name}`."""
        if not self.enabled:
            return 403, {"detail": DISABLED}
        entry = self._regions.pop(name, None)
        if entry is None:
            return 404, {"detail": f"no region named {name!r}"}
        segment, sid = entry
        self.slab.detach(sid)
        segment.close()
        return 200, {}

    def descriptor(self, value: dict[str, Any], array: bool) -> Descriptor:
        """The checked descriptor of a `$shm` reference. `array`: the input is an ndarray
        (a range without dtype/shape must then hold a whole `.npy` payload)."""
        if not self.enabled:
            raise RefError(DISABLED)
        try:
            ref = _ref(value[SHM_KEY], ShmRef)
        except msgspec.ValidationError as exc:
            raise RefError(
                "a $shm reference is {'region': str, 'offset': int, 'length': int, "
                f"'dtype'?: str, 'shape'?: [int], 'order'?: 'C'|'F'}}: {exc}"
            ) from None
        entry = self._regions.get(ref.region)
        if entry is None:
            known = ", ".join(repr(n) for n in self._regions) or "none"
            raise RefError(f"no region named {ref.region!r} is registered (registered: {known})")
        segment, sid = entry
        if ref.offset < 0 or ref.length < 0 or ref.offset + ref.length > segment.size:
            raise RefError(
                f"range [{ref.offset}, {ref.offset + ref.length}) is outside region "
                f"{ref.region!r} of {segment.size} bytes"
            )
        if ref.order not in ("C", "F"):
            raise RefError(f"order must be 'C' or 'F', not {ref.order!r}")
        if (ref.dtype is None) != (ref.shape is None):
            raise RefError("give both dtype and shape for an array, or neither for raw bytes")
        if ref.dtype is None:
            if not array:
                return Descriptor(sid, ref.offset, ref.length)
            return _npy_in_range(segment, sid, ref.offset, ref.length)
        if not array:
            raise RefError("a file input takes a byte range: leave out dtype and shape")
        import numpy

        try:
            dtype = numpy.dtype(ref.dtype)
        except TypeError as exc:
            raise RefError(f"dtype {ref.dtype!r} is not a numpy dtype: {exc}") from None
        if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
            raise RefError(f"dtype {ref.dtype!r} is not allowed: use a plain numeric dtype")
        if any(d < 0 for d in ref.shape or ()):
            raise RefError(f"shape {ref.shape} must hold non-negative sizes")
        shape = tuple(ref.shape or ())
        need = math.prod(shape) * dtype.itemsize
        if need != ref.length:
            raise RefError(
                f"shape {list(shape)} of {dtype.str} is {need} bytes, but the range has "
                f"{ref.length}"
            )
        return Descriptor(sid, ref.offset, ref.length, dtype.str, shape, ref.order)

    def close(self) -> None:
        for segment, sid in self._regions.values():
            self.slab.detach(sid)
            segment.close()
        self._regions.clear()


def _npy_in_range(segment: Segment, sid: int, offset: int, length: int) -> Descriptor:
    assert segment.buf is not None
    view = memoryview(segment.buf)[offset : offset + length]
    try:
        dtype, shape, data_offset, fortran = _npy().parse_header(view)
    except ValueError as exc:
        raise RefError(f"the range holds no valid .npy payload: {exc}") from None
    finally:
        view.release()
    return Descriptor(
        sid,
        offset + data_offset,
        length - data_offset,
        dtype.str,
        tuple(shape),
        "F" if fortran else "C",
    )
