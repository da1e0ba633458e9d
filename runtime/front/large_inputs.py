"""Large and binary request bodies: inputs placed in shared memory, checked, and held until
the prediction ends.

Only requests that may carry such values come here (`LargeInputs.wants`): msgpack bodies,
JSON bodies above the threshold, and every body when shared-memory regions are enabled.
What it does (docs/zero-copy.md):

- msgpack body: read from the socket straight into one slab block (the only copy); a
  `bin` value of a file or ndarray input is referenced where it lies in that block;
- JSON body: a data URL of a file or ndarray input is decoded straight into the slab
  (`Slab.put_data_uri`, in a thread: the base64 loop releases the GIL); the body is
  parsed with `msgspec.Raw` values, so no Python string of the payload is ever made;
- `{"$shm": ...}` values become descriptors of a registered region (`regions.Regions`).

Arrays are checked here (`.npy` header against its size, the input's `x-cog-ndarray` hints),
so a bad input is a 422 before any slot is taken. Values below the threshold travel inline.
The placed values stand in the request as placeholders while the schema is checked, then
`Held.restore` swaps the descriptors in; `Held.release` frees the blocks, exactly once.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from types import ModuleType
from typing import TYPE_CHECKING, Any

import msgspec

from cog._native.select import native
from cog.runtime.front import messages
from cog.runtime.front.messages import BadRequest, PredictionRequest, decode_request, encode
from cog.runtime.front.msgpack_scan import first_large_bin
from cog.runtime.front.regions import RefError, Regions, is_ref
from cog.runtime.protocol import slab_ext
from cog.shm import ALIGNMENT, Block, Descriptor, Slab, SlabFull

if TYPE_CHECKING:
    from cog.runtime.settings import Settings

MSGPACK = "application/msgpack"
#: How much of a msgpack body's start is held back to find that payload.
SCAN_LIMIT = 128 << 10
#: Stands for a placed value while the schema is checked (a string every file and ndarray
#: input accepts).
PLACEHOLDER = "data:,"


@functools.cache
def _npy() -> ModuleType:
    """The compiled .npy parser imports numpy: loaded at the first array, not at start-up."""
    return native("npy")


_BIN = frozenset((0xC4, 0xC5, 0xC6))
_JSON_PREFIX = b'"data:'


class _MsgpackRequest(msgspec.Struct):
    id: str | None = None
    input: dict[str, msgspec.Raw] | None = None
    webhook: str | None = None
    webhook_events_filter: list[str] | None = None
    context: dict[str, str] | None = None
    created_at: str | None = None
    output_file_prefix: str | None = None


_msgpack_envelope = msgspec.msgpack.Decoder(_MsgpackRequest)
_json_envelope = msgspec.json.Decoder(_MsgpackRequest)
_bin_value = msgspec.msgpack.Decoder(memoryview)
_bin_list = msgspec.msgpack.Decoder(list[memoryview])
_any_msgpack = msgspec.msgpack.Decoder()
_any_json = msgspec.json.Decoder()


class Held:
    """One request's values in shared memory: descriptors to put back, blocks to free."""

    def __init__(self, slab: Slab) -> None:
        self.slab = slab
        self.blocks: list[Block] = []
        self.values: list[tuple[str, int | None, Any, Any]] = []
        #: a prediction runs with these values and frees them when it ends (`around`)
        self.adopted = False

    def place(self, name: str, index: int | None, value: Any, shown: Any) -> str:
        """Record a value for the worker and what the prediction's `input` shows for it."""
        self.values.append((name, index, value, shown))
        return PLACEHOLDER

    def restore(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The validated inputs for the worker: placed values instead of placeholders."""
        return self._swap(inputs, 2)

    def shown(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The validated inputs as the prediction shows them (JSON, no payload bytes)."""
        return self._swap(inputs, 3)

    def _swap(self, inputs: dict[str, Any], which: int) -> dict[str, Any]:
        out = dict(inputs)
        for entry in self.values:
            name, index = entry[0], entry[1]
            if index is None:
                out[name] = entry[which]
            else:
                items = list(out[name])
                items[index] = entry[which]
                out[name] = items
        return out

    def release(self) -> None:
        blocks, self.blocks = self.blocks, []
        for block in blocks:
            self.slab.free(block)

    def around(self, run: Coroutine[Any, Any, None]) -> Coroutine[Any, Any, None]:
        """Run a prediction; its blocks are freed when it ends, however it ends.

        Adopted from this call on, even before the returned coroutine is first scheduled.
        """
        self.adopted = True
        return self._run_then_release(run)

    async def _run_then_release(self, run: Coroutine[Any, Any, None]) -> None:
        try:
            await run
        finally:
            self.release()


class _Fields:
    """Which inputs take bytes: ndarray inputs (with their hints) and file inputs."""

    def __init__(self, schema: dict[str, Any] | None, component: str) -> None:
        self.arrays: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bool] = {}  # name -> is a list
        if schema is None:
            return
        components = schema.get("components", {}).get("schemas", {})
        props = components.get(component, {}).get("properties", {})
        for name, prop in props.items():
            node = _resolve(prop, components)
            if node.get("x-cog-array-type") == "ndarray":
                self.arrays[name] = node.get("x-cog-ndarray", {})
            elif _is_uri(node):
                self.files[name] = False
            elif node.get("type") == "array" and _is_uri(
                _resolve(node.get("items", {}), components)
            ):
                self.files[name] = True


def _resolve(node: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    for _ in range(8):
        ref = node.get("$ref") or (
            node["allOf"][0].get("$ref") if len(node.get("allOf", ())) == 1 else None
        )
        if not ref:
            break
        node = {**components.get(ref.rsplit("/", 1)[-1], {}), **node}
        node.pop("$ref", None)
        node.pop("allOf", None)
    if "anyOf" in node:  # Optional[X]: the non-null member
        members = [m for m in node["anyOf"] if m.get("type") != "null"]
        if len(members) == 1:
            return _resolve(members[0], components)
    return node


def _is_uri(node: dict[str, Any]) -> bool:
    return node.get("type") == "string" and node.get("format") == "uri"


class LargeInputs:
    @classmethod
    def configured(
        cls,
        settings: Settings,
        slab: Slab,
        regions: Regions,
        schema: Callable[[], dict[str, Any] | None],
    ) -> LargeInputs:
        """From the server settings; the (still empty) slab takes their sizes."""
        slab.segment_size = settings.slab_size
        slab.max_size = max(settings.slab_max_size, settings.max_binary_body_bytes)
        return cls(
            slab,
            regions,
            threshold=settings.slab_threshold,
            max_json_bytes=settings.max_body_bytes,
            max_binary_bytes=settings.max_binary_body_bytes,
            schema=schema,
            component="TrainingInput" if settings.mode == "train" else "Input",
        )

    def __init__(
        self,
        slab: Slab,
        regions: Regions,
        *,
        threshold: int,
        max_json_bytes: int,
        max_binary_bytes: int,
        schema: Callable[[], dict[str, Any] | None],
        component: str,
    ) -> None:
        self.slab = slab
        self.regions = regions
        self.threshold = threshold
        self.max_json_bytes = max_json_bytes
        self.max_binary_bytes = max_binary_bytes
        self._schema = schema
        self._component = component
        self._fields: tuple[Any, _Fields] | None = None
        self._digits = len(str(threshold))

    def wants(self, headers: Any) -> bool:
        """Whether a create request may carry large, binary or shared-memory values."""
        ctype = headers.get("content-type")
        # "application/" is 12 characters: one look tells JSON from msgpack
        if ctype is not None and ctype[12:13] in "mM" and ctype[:19].lower() == MSGPACK:
            return True
        if self.regions.enabled:
            return True
        length = headers.get("content-length")
        return (
            length is not None
            and len(length) >= self._digits
            and length.isdigit()
            and int(length) >= self.threshold
        )

    def fields(self) -> _Fields:
        schema = self._schema()
        if self._fields is None or self._fields[0] is not schema:
            self._fields = (schema, _Fields(schema, self._component))
        return self._fields[1]

    # ------------------------------------------------------------------ reading

    async def read(self, headers: Any, protocol: Any) -> tuple[PredictionRequest, Held | None]:
        """The request envelope, with placed values standing as placeholders in `input`."""
        ctype = headers.get("content-type")
        length = _content_length(headers.get("content-length"))
        if ctype is not None and ctype[:19].lower() == MSGPACK:
            return await self._read_msgpack(protocol, length)
        check_json_type(ctype)
        body = await _read_all(protocol, length, self.max_json_bytes, "JSON")
        if len(body) < self.threshold and b'"$shm"' not in body:
            return decode_request(body), None
        return await self._from_json(body)

    async def _read_msgpack(
        self, protocol: Any, length: int | None
    ) -> tuple[PredictionRequest, Held | None]:
        if length is None:
            raise BadRequest(
                411,
                encode({"detail": "a msgpack request body needs a Content-Length header"}),
            )
        if length > self.max_binary_bytes:
            raise BadRequest(413, _too_large(self.max_binary_bytes, "msgpack"))
        if length == 0:
            return decode_request(b""), None
        held = Held(self.slab)
        block = None
        if length >= self.threshold:
            block = self._body_block(length)  # None: read into memory, values travel inline
        try:
            if block is None:
                source: Any = await _read_all(protocol, length, self.max_binary_bytes, "msgpack")
            else:
                held.blocks.append(block)
                target = self.slab.buffer(block)
                find = None
                arrays = self.fields().arrays
                if block.length >= length + ALIGNMENT and arrays:
                    find = functools.partial(
                        first_large_bin, threshold=self.threshold, names=arrays
                    )
                start = await _read_placed(protocol, target, length, block.offset, find)
                source = target[start : start + length]
            request = self._decode_msgpack(source, block, held)
        except BaseException:
            held.release()
            raise
        if not held.values:
            held.release()
            return request, None
        return request, held

    def _body_block(self, length: int) -> Block | None:
        """A block for a msgpack body, with `ALIGNMENT` bytes of slack to shift it by (see
        `_read_placed`) when the slab has room for them."""
        for size in (length + ALIGNMENT, length):
            try:
                return self.slab.alloc(size)
            except SlabFull:
                pass
        return None

    def _decode_msgpack(self, source: Any, block: Block | None, held: Held) -> PredictionRequest:
        try:
            envelope = _msgpack_envelope.decode(source)
        except msgspec.ValidationError as exc:
            raise BadRequest(422, messages.detail(["body"], str(exc), "type_error")) from None
        except msgspec.DecodeError as exc:
            raise BadRequest(
                400, encode({"detail": f"Failed to parse the request body as msgpack: {exc}"})
            ) from None
        fields = self.fields()
        inputs: dict[str, Any] | None = None
        if envelope.input is not None:
            inputs = {}
            for name, raw in envelope.input.items():
                inputs[name] = self._msgpack_value(name, raw, block, held, fields)
        return _request(envelope, inputs)

    def _msgpack_value(
        self, name: str, raw: msgspec.Raw, block: Block | None, held: Held, fields: _Fields
    ) -> Any:
        view = memoryview(raw)  # type: ignore[arg-type]
        first = view[0] if len(view) else 0
        if first in _BIN:
            return self._bytes(name, None, _bin_value.decode(raw), block, held, fields)
        if fields.files.get(name) and (0x90 <= first <= 0x9F or first in (0xDC, 0xDD)):
            try:
                items = _bin_list.decode(raw)
            except msgspec.ValidationError:
                pass  # not all bytes: URLs or references among them
            else:
                return [
                    self._bytes(name, i, item, block, held, fields) for i, item in enumerate(items)
                ]
        try:
            value = _any_msgpack.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise _invalid(name, f"cannot be decoded: {_why(exc)}") from None
        return self._refs(name, value, held, fields)

    async def _from_json(self, body: bytes) -> tuple[PredictionRequest, Held | None]:
        try:
            envelope = _json_envelope.decode(body)
        except msgspec.ValidationError as exc:
            raise BadRequest(422, messages.detail(["body"], str(exc), "type_error")) from None
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise messages.json_error(exc, body) from None
        fields = self.fields()
        held = Held(self.slab)
        inputs: dict[str, Any] | None = None
        try:
            if envelope.input is not None:
                inputs = {}
                for name, raw in envelope.input.items():
                    inputs[name] = await self._json_value(name, raw, held, fields)
        except BaseException:
            held.release()
            raise
        return _request(envelope, inputs), (held if held.values else None)

    async def _json_value(self, name: str, raw: msgspec.Raw, held: Held, fields: _Fields) -> Any:
        view = memoryview(raw)  # type: ignore[arg-type]
        takes_bytes = name in fields.arrays or fields.files.get(name) is False
        if (
            takes_bytes
            and len(view) >= self.threshold
            and view[: len(_JSON_PREFIX)] == _JSON_PREFIX
        ):
            # The JSON string's bytes are the data URL unless it holds escapes (a base64
            # data URL needs none; `\/` is legal JSON): the decoder stops at a backslash,
            # and then the decoded string goes the same way.
            uri: Any = view[1:-1]
            loop = asyncio.get_running_loop()
            try:
                try:
                    _, block = await loop.run_in_executor(None, self.slab.put_data_uri, uri)
                except ValueError as exc:
                    position = getattr(exc, "position", -1)
                    if not 0 <= position < len(uri) or uri[position] != 0x5C:  # backslash
                        raise
                    text = _any_json.decode(raw)
                    _, block = await loop.run_in_executor(None, self.slab.put_data_uri, text)
            except SlabFull:
                return _any_json.decode(raw)
            except ValueError as exc:
                raise _invalid(name, f"is not a valid data URL: {exc}") from None
            held.blocks.append(block)
            if name in fields.arrays:
                desc = self._npy(name, block, fields.arrays[name])
            else:
                desc = self.slab.descriptor(block)
            return held.place(name, None, slab_ext(desc), _shown(desc))
        try:
            value = _any_json.decode(raw)
        except (UnicodeDecodeError, RecursionError) as exc:
            raise messages.json_error(exc, view) from None  # as for a body read whole
        except msgspec.DecodeError as exc:
            raise _invalid(name, f"cannot be decoded: {exc}") from None
        return self._refs(name, value, held, fields)

    # ------------------------------------------------------------------ values

    def _bytes(
        self,
        name: str,
        index: int | None,
        data: memoryview,
        block: Block | None,
        held: Held,
        fields: _Fields,
    ) -> Any:
        """A bin value: referenced in the body's block when large, else sent inline."""
        hints = fields.arrays.get(name)
        if hints is None and name not in fields.files:
            raise _invalid(
                name,
                "is bytes, which only file (Path, File) and numpy.ndarray inputs accept",
            )
        if hints is not None and index is not None:
            raise _invalid(name, "takes one .npy payload, not a list of them")
        large = block is not None and len(data) >= self.threshold
        if not large:
            if hints is not None:
                self._check_npy_bytes(name, data, hints)
            return held.place(name, index, bytes(data), f"<{len(data)} bytes>")
        assert block is not None
        offset = block.offset + _address(data) - _address(self.slab.buffer(block))
        part = Block(block.segment, offset, len(data))
        if hints is not None:
            desc = self._npy(name, part, hints)
        else:
            desc = self.slab.descriptor(part)
        return held.place(name, index, slab_ext(desc), _shown(desc))

    def _npy(self, name: str, block: Block, hints: dict[str, Any]) -> Descriptor:
        try:
            desc = self.slab.npy_descriptor(block)
        except ValueError as exc:
            raise _invalid(name, f"is not a valid .npy payload: {exc}") from None
        _check_array(name, desc.dtype or "u1", desc.shape or (), hints)
        return desc

    def _check_npy_bytes(self, name: str, data: memoryview, hints: dict[str, Any]) -> None:
        try:
            dtype, shape, _, _ = _npy().parse_header(data)
        except ValueError as exc:
            raise _invalid(name, f"is not a valid .npy payload: {exc}") from None
        _check_array(name, dtype.str, tuple(shape), hints)

    def _refs(self, name: str, value: Any, held: Held, fields: _Fields) -> Any:
        """`$shm` references (the value itself, or items of a list of files) as descriptors."""
        if is_ref(value):
            return held.place(name, None, slab_ext(self._ref(name, value, fields)), value)
        if type(value) is list and fields.files.get(name):
            return [
                held.place(name, i, slab_ext(self._ref(name, item, fields)), item)
                if is_ref(item)
                else item
                for i, item in enumerate(value)
            ]
        return value

    def _ref(self, name: str, value: dict[str, Any], fields: _Fields) -> Descriptor:
        hints = fields.arrays.get(name)
        if hints is None and name not in fields.files:
            raise _invalid(name, "is a $shm reference, which only file and ndarray inputs accept")
        try:
            desc = self.regions.descriptor(value, array=hints is not None)
        except RefError as exc:
            raise _invalid(name, str(exc)) from None
        if hints is not None:
            _check_array(name, desc.dtype or "u1", desc.shape or (), hints)
        return desc


# --------------------------------------------------------------------------- helpers


def _request(envelope: _MsgpackRequest, inputs: dict[str, Any] | None) -> PredictionRequest:
    return PredictionRequest(
        id=envelope.id,
        input=inputs,
        webhook=envelope.webhook,
        webhook_events_filter=envelope.webhook_events_filter,
        context=envelope.context,
        created_at=envelope.created_at,
        output_file_prefix=envelope.output_file_prefix,
    )


def _shown(desc: Descriptor) -> str:
    """What a prediction's `input` shows for a payload it received (not the bytes again)."""
    if desc.dtype is None:
        return f"<{desc.length} bytes>"
    import numpy

    shape = "x".join(str(d) for d in desc.shape or ()) or "scalar"
    return f"<{numpy.dtype(desc.dtype).name} array {shape}, {desc.length} bytes>"


def _check_array(name: str, dtype: str, shape: tuple[int, ...], hints: dict[str, Any]) -> None:
    """An array against its input's `x-cog-ndarray` hints (docs/schema.md)."""
    import numpy

    got = numpy.dtype(dtype)
    if got.kind not in "biufc" or got.fields is not None:
        raise _invalid(name, f"must hold numbers, got an array of {got}")
    want = hints.get("dtype")
    if want is not None and numpy.dtype(want) != got:
        raise _invalid(name, f"must be a {want} array, got {got.name} (byte order {got.str[0]})")
    want_shape = hints.get("shape")
    if want_shape is not None and (
        len(want_shape) != len(shape)
        or any(w is not None and w != s for w, s in zip(want_shape, shape, strict=True))
    ):
        text = "(" + ", ".join("*" if s is None else str(s) for s in want_shape) + ")"
        raise _invalid(name, f"must have shape {text}, got {tuple(shape)}")


def _why(exc: Exception) -> str:
    """What msgspec found wrong with a value, in words for the client."""
    if isinstance(exc, RecursionError):
        return "it nests arrays or objects too deeply"
    if isinstance(exc, UnicodeDecodeError):
        return f"it is not valid UTF-8 ({exc.reason})"
    return str(exc)


def _invalid(name: str, msg: str) -> BadRequest:
    return BadRequest(422, messages.detail(["body", "input", name], f"{name} {msg}", "value_error"))


def _address(view: memoryview) -> int:
    import numpy

    return int(numpy.frombuffer(view, numpy.uint8).ctypes.data) if len(view) else 0


def _content_length(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        size = int(value)
    except ValueError:
        size = -1
    if size < 0:
        raise BadRequest(400, encode({"detail": f"Invalid Content-Length: {value!r}"}))
    return size


def check_json_type(value: str | None) -> None:
    """415 for a body that is neither JSON nor msgpack (no Content-Type: JSON)."""
    if value is None:
        return
    media = value.split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return
    raise BadRequest(
        415,
        encode(
            {
                "detail": f"Unsupported Content-Type {value!r}: request bodies must be JSON "
                f"(application/json) or msgpack ({MSGPACK})"
            }
        ),
    )


def _too_large(limit: int, kind: str) -> bytes:
    return encode({"detail": f"Request body is larger than the limit of {limit} bytes ({kind})"})


def _truncated(got: int, length: int | None) -> BadRequest:
    if length is None:
        text = f"truncated request body: the chunked body was cut off after {got} bytes"
    else:
        text = (
            f"truncated request body: it ended after {got} of the {length} bytes its "
            "Content-Length announced"
        )
    return BadRequest(400, encode({"detail": text}))


async def _read_all(protocol: Any, length: int | None, limit: int, kind: str) -> Any:
    """The whole body in memory, held once: with a `Content-Length`, streamed into one
    buffer of that size (not chunks joined at the end, which would hold it twice)."""
    if length is not None and length > limit:
        raise BadRequest(413, _too_large(limit, kind))
    if length == 0:
        return b""
    if length is not None:
        buffer = bytearray(length)
        await _read_into(protocol, memoryview(buffer), length)
        return buffer
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in protocol:
            total += len(chunk)
            if total > limit:
                raise BadRequest(413, _too_large(limit, kind))
            chunks.append(bytes(chunk))
    except BadRequest:
        raise
    except Exception:
        raise _truncated(total, None) from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_long(length: int) -> BadRequest:
    return BadRequest(
        400, encode({"detail": f"the request body is longer than its Content-Length {length}"})
    )


async def _read_into(protocol: Any, target: memoryview, length: int) -> None:
    """Stream the body into `target` (a slab block): the one copy a binary body costs."""
    pos = 0
    try:
        async for chunk in protocol:
            n = len(chunk)
            if pos + n > length:
                raise _too_long(length)
            target[pos : pos + n] = chunk
            pos += n
    except BadRequest:
        raise
    except Exception:
        raise _truncated(pos, length) from None
    if pos != length:
        raise _truncated(pos, length)


async def _read_placed(
    protocol: Any,
    target: memoryview,
    length: int,
    base: int,
    find: Callable[[Any], int | None] | None,
) -> int:
    """Stream a msgpack body into `target` (its block, at `base` in the segment) and say
    where in `target` it starts: 0, or the shift (below `ALIGNMENT`) that puts the first large
    array payload on an `ALIGNMENT` boundary of the segment, so that the model gets it aligned
    without a copy.

    The first chunks are held until `find` locates the payload in them (it is usually in
    the first), or `SCAN_LIMIT` bytes have come without it (then the shift is 0); they are
    then written at the shift, and the rest follows them. Without `find`, `_read_into`.
    """
    if find is None:
        await _read_into(protocol, target, length)
        return 0
    pos = 0
    shift: int | None = None
    held: list[Any] = []
    head = bytearray()
    try:
        async for chunk in protocol:
            n = len(chunk)
            if pos + n > length:
                raise _too_long(length)
            if shift is None:
                held.append(chunk)
                if len(held) == 1:
                    prefix = chunk  # scanned where it lies: no copy for the usual case
                else:
                    if not head:
                        head += held[0][:SCAN_LIMIT]
                    head += chunk[: SCAN_LIMIT - len(head)]
                    prefix = head
                found = find(prefix)
                if found is not None:
                    shift = -(base + found) % ALIGNMENT
                elif pos + n >= SCAN_LIMIT:
                    shift = 0
                if shift is not None:
                    _write_at(target, shift, held)
                    held = []
            else:
                target[shift + pos : shift + pos + n] = chunk
            pos += n
    except BadRequest:
        raise
    except Exception:
        raise _truncated(pos, length) from None
    if pos != length:
        raise _truncated(pos, length)
    if shift is None:  # a body shorter than the scan, without a large array
        shift = 0
        _write_at(target, shift, held)
    return shift


def _write_at(target: memoryview, at: int, chunks: list[Any]) -> None:
    for chunk in chunks:
        target[at : at + len(chunk)] = chunk
        at += len(chunk)
