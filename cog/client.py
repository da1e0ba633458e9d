"""A Python client for a Cog server, with the fast paths for large inputs.

Three ways to send the same inputs (see docs/zero-copy.md for the wire format):

- `json` (any Cog server): numpy arrays become `.npy` data URLs (or nested lists),
  bytes and files become data URLs;
- `msgpack` (cogpy): the body is `application/msgpack`; arrays travel as `.npy` bytes and
  files as raw bytes, no base64;
- `shm` (cogpy, same host): arrays and bytes are placed in a shared-memory region that
  the client registered with the server, and the request carries only a reference
  `{"$shm": {...}}`. An array that already lives in a registered region (made with
  `SharedRegion.array`) is referenced where it is: no copy at all.
"""

from __future__ import annotations

import base64
import io
import mimetypes
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

import msgspec
import numpy as np
import requests

from cog._native.select import native
from cog.shm import Segment

_npy = native("npy")

#: Media type of a .npy payload in a data URL.
NPY_MEDIA_TYPE = "application/x-npy"
MSGPACK_MEDIA_TYPE = "application/msgpack"
#: The key of a shared-memory reference in a request value.
SHM_KEY = "$shm"
_ALIGN = 64

Transport = Literal["json", "msgpack", "shm"]


class ClientError(Exception):
    """The server answered with an HTTP error; `status` and `detail` say which and why."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class ShmRef(msgspec.Struct, frozen=True, omit_defaults=True):
    """A byte range of a registered region; with dtype and shape it is an array."""

    region: str
    offset: int
    length: int
    dtype: str | None = None
    shape: tuple[int, ...] | None = None
    order: str = "C"

    def to_wire(self) -> dict[str, Any]:
        return {SHM_KEY: msgspec.to_builtins(self)}


def npy_bytes(array: np.ndarray[Any, Any]) -> bytes:
    """A .npy payload: header then the array's bytes (C order unless the array is Fortran)."""
    fortran = bool(array.flags.f_contiguous and not array.flags.c_contiguous)
    header = _npy.header_bytes(array.dtype, array.shape, fortran)
    return header + array.tobytes(order="F" if fortran else "C")


def data_url(data: bytes, media_type: str = "application/octet-stream") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def _file_bytes(value: Any) -> tuple[bytes, str] | None:
    """(contents, media type) of a path or an open binary/text file; None for other values."""
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        with open(path, "rb") as fh:
            data = fh.read()
        return data, mimetypes.guess_type(path)[0] or "application/octet-stream"
    if isinstance(value, io.IOBase):
        if value.seekable():
            value.seek(0)
        data = value.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        name = getattr(value, "name", "")
        mime = mimetypes.guess_type(name)[0] if isinstance(name, str) else None
        return data, mime or "application/octet-stream"
    return None


class SharedRegion:
    """A shared-memory region this client created and registered with the server.

    The client writes into it (`put`, or `array` to fill an array in place) and sends
    references. Once the server has mapped it, the name is removed from /dev/shm, so no
    crash on either side can leave it behind. Offsets are handed out in order; `reset`
    starts again from 0 when the previous request's data is no longer needed.
    """

    def __init__(self, client: Client, size: int, name: str | None = None) -> None:
        self.client = client
        self.name = name or f"region-{secrets.token_hex(6)}"
        self.size = size
        self.segment = Segment.create(size, keep_name=True, prefix="cog-region")
        assert self.segment.name is not None and self.segment.buf is not None
        self.key = self.segment.name
        self._base = np.frombuffer(self.segment.buf, np.uint8).ctypes.data
        self._next = 0
        self.registered = False
        try:
            client._request(
                "POST",
                "/shm/regions",
                json={"name": self.name, "key": self.key, "size": size},
            )
            self.registered = True
        finally:
            # Registered or refused, the name has served its purpose.
            self.segment.unlink()
            if not self.registered:
                self.segment.close()

    def _claim(self, length: int) -> int:
        offset = self._next
        end = offset + length
        if end > self.size:
            raise MemoryError(
                f"region {self.name!r} has {self.size - offset} bytes left, {length} needed; "
                "reset() it or create a bigger one"
            )
        self._next = -(-end // _ALIGN) * _ALIGN
        return offset

    def array(
        self, shape: Any, dtype: Any = np.float32, order: Literal["C", "F"] = "C"
    ) -> np.ndarray[Any, Any]:
        """A new array inside the region, to fill in place and pass to `predict` as is."""
        dtype = np.dtype(dtype)
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        length = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        offset = self._claim(length)
        assert self.segment.buf is not None
        return np.ndarray(shape, dtype, buffer=self.segment.buf, offset=offset, order=order)

    def put(self, value: Any) -> ShmRef:
        """Copy an array or bytes-like value into the region; the reference to send."""
        if isinstance(value, np.ndarray):
            target = self.array(value.shape, value.dtype, "F" if _is_fortran(value) else "C")
            target[...] = value
            return self.ref_of(target)
        src = memoryview(value).cast("B")
        offset = self._claim(src.nbytes)
        assert self.segment.buf is not None
        self.segment.buf[offset : offset + src.nbytes] = src
        return ShmRef(self.name, offset, src.nbytes)

    def ref_of(self, array: np.ndarray[Any, Any]) -> ShmRef:
        """The reference to an array that lives in this region (made with `array`)."""
        offset = self.offset_of(array)
        if offset is None:
            raise ValueError("the array does not live in this region")
        if not (array.flags.c_contiguous or array.flags.f_contiguous):
            raise ValueError("only contiguous arrays can be referenced in place")
        return ShmRef(
            self.name,
            offset,
            array.nbytes,
            array.dtype.str,
            tuple(array.shape),
            "F" if _is_fortran(array) else "C",
        )

    def offset_of(self, array: np.ndarray[Any, Any]) -> int | None:
        address = array.__array_interface__["data"][0]
        offset = address - self._base
        if 0 <= offset and offset + array.nbytes <= self.size and self.segment.buf is not None:
            return int(offset)
        return None

    def reset(self) -> None:
        """Hand out offsets from 0 again (arrays made before now will be overwritten)."""
        self._next = 0

    def close(self) -> None:
        """Unregister from the server and unmap."""
        if self.registered:
            self.registered = False
            self.client.regions.pop(self.name, None)
            try:
                self.client._request("DELETE", f"/shm/regions/{self.name}")
            except (ClientError, requests.RequestException):
                pass  # the server may be gone; its mapping went with it
        self.segment.close()


def _is_fortran(array: np.ndarray[Any, Any]) -> bool:
    return bool(array.flags.f_contiguous and not array.flags.c_contiguous)


class Client:
    """Runs predictions on a Cog server at `base_url` (one keep-alive connection pool)."""

    def __init__(self, base_url: str, *, timeout: float = 600.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.regions: dict[str, SharedRegion] = {}
        self._scratch: SharedRegion | None = None
        self._encoder = msgspec.msgpack.Encoder()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for region in list(self.regions.values()):
            region.close()
        self._scratch = None
        self.session.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(
            method, self.base_url + path, timeout=self.timeout, **kwargs
        )
        body = _decode_body(response)
        if response.status_code >= 400:
            detail = body.get("detail", body) if isinstance(body, dict) else body
            raise ClientError(response.status_code, detail)
        return body

    def health(self) -> Any:
        return self._request("GET", "/health-check")

    def openapi_schema(self) -> Any:
        return self._request("GET", "/openapi.json")

    def shared_region(self, size: int, name: str | None = None) -> SharedRegion:
        """Create and register a shared-memory region (same host only); `close` it when done."""
        region = SharedRegion(self, size, name)
        self.regions[region.name] = region
        return region

    @contextmanager
    def region(self, size: int, name: str | None = None) -> Iterator[SharedRegion]:
        region = self.shared_region(size, name)
        try:
            yield region
        finally:
            region.close()

    def predict(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        transport: Transport = "json",
        arrays: Literal["npy", "list"] = "npy",
        id: str | None = None,
        webhook: str | None = None,
        webhook_events_filter: list[str] | None = None,
        context: Mapping[str, str] | None = None,
        respond_async: bool = False,
        binary_response: bool = False,
    ) -> Any:
        """Run a prediction and return the server's response envelope (a dict).

        `respond_async` returns at once with the server's 202 body; progress then goes to
        the webhook. A failed prediction is a normal response (`status: "failed"`); an HTTP
        error (a 422 for bad input, say) raises `ClientError`. `binary_response` asks for
        msgpack (cogpy): array outputs come back as numpy arrays and files as bytes, with
        no base64 on the way.
        """
        if transport not in ("json", "msgpack", "shm"):
            raise ValueError(f"transport must be 'json', 'msgpack' or 'shm', not {transport!r}")
        values = dict(inputs or {})
        if transport == "shm":
            values = self._place_in_shared_memory(values)
        envelope: dict[str, Any] = {"input": values}
        if id is not None:
            envelope["id"] = id
        if webhook is not None:
            envelope["webhook"] = webhook
        if webhook_events_filter is not None:
            envelope["webhook_events_filter"] = list(webhook_events_filter)
        if context is not None:
            envelope["context"] = dict(context)
        headers = {"Accept": MSGPACK_MEDIA_TYPE if binary_response else "application/json"}
        if respond_async:
            headers["Prefer"] = "respond-async"
        if transport == "msgpack":
            body = self._encoder.encode(self._encode(envelope, binary=True, arrays="npy"))
            headers["Content-Type"] = MSGPACK_MEDIA_TYPE
        else:
            body = msgspec.json.encode(self._encode(envelope, binary=False, arrays=arrays))
            headers["Content-Type"] = "application/json"
        path = "/predictions" if id is None else f"/predictions/{id}"
        envelope = self._request("POST" if id is None else "PUT", path, data=body, headers=headers)
        if binary_response and isinstance(envelope, dict) and "output" in envelope:
            envelope["output"] = _arrays_from_npy(envelope["output"])
        return envelope

    def cancel(self, prediction_id: str) -> Any:
        return self._request("POST", f"/predictions/{prediction_id}/cancel")

    def _encode(self, value: Any, *, binary: bool, arrays: str) -> Any:
        """The request value as JSON/msgpack-ready builtins."""
        if isinstance(value, ShmRef):
            return value.to_wire()
        if isinstance(value, np.ndarray):
            for region in self.regions.values():
                if region.offset_of(value) is not None:
                    return region.ref_of(value).to_wire()
            if binary:
                return npy_bytes(value)
            if arrays == "list":
                return value.tolist()
            return data_url(npy_bytes(value), NPY_MEDIA_TYPE)
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value) if binary else data_url(bytes(value))
        if isinstance(value, Mapping):
            return {k: self._encode(v, binary=binary, arrays=arrays) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._encode(v, binary=binary, arrays=arrays) for v in value]
        contents = _file_bytes(value)
        if contents is not None:
            return contents[0] if binary else data_url(*contents)
        return value

    def _place_in_shared_memory(self, values: dict[str, Any]) -> dict[str, Any]:
        """Copy arrays and bytes into the scratch region (arrays already in a region stay)."""
        payloads: list[Any] = []
        _collect(values, payloads, self)
        need = sum(-(-_nbytes(p) // _ALIGN) * _ALIGN for p in payloads)
        if not payloads:
            return values
        scratch = self._scratch
        if scratch is None or scratch.size < need:
            if scratch is not None:
                scratch.close()
            scratch = self._scratch = self.shared_region(max(need, 64 << 20))
        scratch.reset()
        return _replace(values, scratch, self)


def _in_a_region(client: Client, value: np.ndarray[Any, Any]) -> bool:
    return any(r.offset_of(value) is not None for r in client.regions.values())


def _is_payload(value: Any, client: Client) -> bool:
    if isinstance(value, np.ndarray):
        return not _in_a_region(client, value)
    return isinstance(value, bytes | bytearray | memoryview)


def _nbytes(value: Any) -> int:
    return int(value.nbytes) if isinstance(value, np.ndarray) else memoryview(value).nbytes


def _collect(value: Any, out: list[Any], client: Client) -> None:
    if _is_payload(value, client):
        out.append(value)
    elif isinstance(value, Mapping):
        for v in value.values():
            _collect(v, out, client)
    elif isinstance(value, list | tuple):
        for v in value:
            _collect(v, out, client)


def _replace(value: Any, region: SharedRegion, client: Client) -> Any:
    if _is_payload(value, client):
        return region.put(value)
    if isinstance(value, Mapping):
        return {k: _replace(v, region, client) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_replace(v, region, client) for v in value]
    return value


def _arrays_from_npy(value: Any) -> Any:
    """`.npy` payloads in a msgpack output tree as numpy arrays (views of the response)."""
    if isinstance(value, bytes) and value.startswith(_npy.MAGIC):
        return _npy.load(value)
    if isinstance(value, list):
        return [_arrays_from_npy(v) for v in value]
    if isinstance(value, dict):
        return {k: _arrays_from_npy(v) for k, v in value.items()}
    return value


def _decode_body(response: requests.Response) -> Any:
    media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not response.content:
        return {}
    if media == MSGPACK_MEDIA_TYPE:
        return msgspec.msgpack.decode(response.content)
    try:
        return msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return response.text
