"""Data-URL decoding into a caller's buffer (pure-Python twin of datauri.pyx).

A data URL (RFC 2397) is `data:[<media type>][;name=value]*[;base64],<payload>`. The
payload is decoded straight into a writable buffer (a slab range, a bytearray, a numpy
array) so a large input costs one pass and no intermediate bytes object in the
compiled module. Errors name the position of the first offending character.
Whitespace inside base64 is skipped (MIME-style line breaks); padding is required.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_VALUE = {c: i for i, c in enumerate(_ALPHABET)}
_WHITESPACE = frozenset(b" \t\r\n")
_HEX = frozenset(b"0123456789abcdefABCDEF")


class DataURIError(ValueError):
    """Malformed data URL or payload; `position` is the offset of the offending character."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True, eq=True)
class DataURIHeader:
    """What precedes the comma of a data URL (RFC 2397)."""

    media_type: str
    params: dict[str, str]
    base64: bool
    payload_start: int


def _ascii(src: Any) -> bytes | memoryview:
    if isinstance(src, str):
        if not src.isascii():
            for i, ch in enumerate(src):
                if ord(ch) > 0x7F:
                    raise DataURIError(
                        f"non-ASCII character {ch!r} at position {i}: a data URL carries only ASCII",
                        i,
                    )
        return src.encode("ascii")
    return memoryview(src).cast("B")


def _bounds(length: int, start: int, end: int) -> int:
    if end < 0:
        end = length
    if start < 0 or start > length:
        raise ValueError(f"start {start} is outside the source of {length} characters")
    if end < start or end > length:
        raise ValueError(f"end {end} is outside {start}..{length}")
    return end


def _b64_bound(s: bytes | memoryview, start: int, end: int) -> int:
    i = end - 1
    while i >= start and s[i] in _WHITESPACE:
        i -= 1
    pad = 0
    while i >= start and s[i] == 0x3D and pad < 2:
        pad += 1
        i -= 1
    return (end - start + 3) // 4 * 3 - pad


def _dest(dst: Any, offset: int, need: int) -> memoryview:
    view = memoryview(dst).cast("B")
    if view.readonly:
        raise BufferError("destination buffer is read-only")
    if offset < 0 or offset > view.nbytes:
        raise ValueError(
            f"destination offset {offset} is outside the destination of {view.nbytes} bytes"
        )
    room = view.nbytes - offset
    if need > room:
        raise ValueError(
            f"destination has {room} bytes from the offset, the decoded data needs up to {need}"
        )
    return view


def _bad_char(c: int, pos: int) -> DataURIError:
    hint = ""
    if c in b"-_":
        hint = " (the URL-safe alphabet is not accepted: use '+' and '/')"
    elif c == 0x25:
        hint = " (percent-encoded base64 is not accepted)"
    return DataURIError(
        f"invalid base64 character {chr(c)!r} (0x{c:02x}) at position {pos}{hint}", pos
    )


def _b64_check(s: bytes | memoryview, start: int, end: int) -> None:
    """Walk the payload as the compiled decoder's careful path does; raise at the first fault."""
    nq = 0
    group_start = start
    i = start
    while i < end:
        c = s[i]
        if c in _VALUE:
            if nq == 0:
                group_start = i
            nq = (nq + 1) % 4
        elif c in _WHITESPACE:
            pass
        elif c == 0x3D:
            if nq < 2:
                raise DataURIError(f"misplaced padding '=' at position {i}", i)
            p = i + 1
            if nq == 2:
                while p < end and s[p] in _WHITESPACE:
                    p += 1
                if p >= end or s[p] != 0x3D:
                    raise DataURIError(
                        f"incomplete padding at position {p}: a group of 2 characters "
                        "ends with '=='",
                        p,
                    )
                p += 1
            while p < end:
                if s[p] not in _WHITESPACE:
                    raise DataURIError(f"data after the padding at position {p}", p)
                p += 1
            return
        else:
            raise _bad_char(c, i)
        i += 1
    if nq:
        raise DataURIError(
            f"base64 data ends with an incomplete group of {nq} character"
            f"{'s' if nq > 1 else ''} at position {group_start} (truncated, or missing '=' padding)",
            group_start,
        )


def b64_decoded_size(src: Any, start: int = 0, end: int = -1) -> int:
    """Bytes that `b64decode_into` may write for src[start:end]; exact unless it has whitespace."""
    s = _ascii(src)
    end = _bounds(len(s), start, end)
    return _b64_bound(s, start, end)


def b64decode_into(src: Any, dst: Any, dst_offset: int = 0, start: int = 0, end: int = -1) -> int:
    """Decode base64 src[start:end] into dst[dst_offset:]; return the bytes written."""
    s = _ascii(src)
    end = _bounds(len(s), start, end)
    view = _dest(dst, dst_offset, _b64_bound(s, start, end))
    payload = bytes(s[start:end])
    # Unbroken base64 (the common case) leaves at most two '=' at the end once the
    # alphabet is deleted; anything else gets the careful walk that names the fault.
    rest = payload.translate(None, _ALPHABET)
    if len(payload) % 4 or rest not in (b"", b"=", b"==") or not payload.endswith(rest):
        _b64_check(s, start, end)
    data = binascii.a2b_base64(payload)
    view[dst_offset : dst_offset + len(data)] = data
    return len(data)


def _percent_source(src: Any, start: int, end: int) -> tuple[bytes | memoryview, int, int]:
    """Percent-decoding reads UTF-8: a str with non-ASCII characters is encoded first."""
    if isinstance(src, str):
        if end < 0:
            end = len(src)
        if not src.isascii():
            head = len(src[:start].encode("utf-8"))
            return src.encode("utf-8"), head, head + len(src[start:end].encode("utf-8"))
        return src.encode("ascii"), start, end
    return memoryview(src).cast("B"), start, end


def percent_decoded_size(src: Any, start: int = 0, end: int = -1) -> int:
    """Bytes that `percent_decode_into` writes for src[start:end] (exact for valid input)."""
    s, start, end = _percent_source(src, start, end)
    end = _bounds(len(s), start, end)
    return max(end - start - 2 * bytes(s[start:end]).count(b"%"), 0)


def percent_decode_into(
    src: Any, dst: Any, dst_offset: int = 0, start: int = 0, end: int = -1
) -> int:
    """Decode percent-encoded src[start:end] (RFC 3986 escapes) into dst; return bytes written."""
    s, start, end = _percent_source(src, start, end)
    end = _bounds(len(s), start, end)
    payload = bytes(s[start:end])
    view = _dest(dst, dst_offset, max(len(payload) - 2 * payload.count(b"%"), 0))
    out = bytearray()
    i = 0
    while True:
        j = payload.find(b"%", i)
        if j < 0:
            out += payload[i:]
            break
        out += payload[i:j]
        escape = payload[j + 1 : j + 3]
        if len(escape) < 2 or escape[0] not in _HEX or escape[1] not in _HEX:
            raise DataURIError(
                f"bad percent escape {payload[j : j + 3].decode('latin-1')!r} "
                f"at position {start + j}: '%' must be followed by two hex digits",
                start + j,
            )
        out.append(int(escape, 16))
        i = j + 3
    view[dst_offset : dst_offset + len(out)] = out
    return len(out)


def parse(uri: Any) -> DataURIHeader:
    """Parse the header of a data URL: media type, parameters, base64 flag, payload start."""
    if isinstance(uri, str):
        comma = uri.find(",")
        head = uri[: comma if comma >= 0 else 5]
    else:
        flat = bytes(memoryview(uri).cast("B"))
        comma = flat.find(b",")
        head = flat[: comma if comma >= 0 else 5].decode("latin-1")
    if head[:5].lower() != "data:":
        raise DataURIError(f"not a data URL: it starts with {head[:5]!r}, expected 'data:'", 0)
    if comma < 0:
        raise DataURIError("data URL has no ',' between its header and its data", None)
    return _parse_header(head[5:], comma)


def _parse_header(header: str, comma: int) -> DataURIHeader:
    parts = header.split(";")
    media_type = parts[0].strip().lower()
    is_base64 = False
    if len(parts) > 1 and parts[-1].strip().lower() == "base64":
        is_base64 = True
        parts.pop()
    params: dict[str, str] = {}
    pos = 5 + len(parts[0]) + 1
    for part in parts[1:]:
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise DataURIError(
                f"malformed data URL parameter {part!r} at position {pos}: expected name=value "
                "(only the last parameter may be 'base64')",
                pos,
            )
        params[key.strip().lower()] = unquote(value.strip())
        pos += len(part) + 1
    if not media_type:
        media_type = "text/plain"
        params.setdefault("charset", "US-ASCII")
    elif "/" not in media_type:
        raise DataURIError(
            f"malformed media type {parts[0]!r} at position 5: expected type/subtype", 5
        )
    return DataURIHeader(media_type, params, is_base64, comma + 1)


def decoded_size(uri: Any, header: DataURIHeader) -> int:
    """Bytes that `decode_into` may write for this data URL (exact for unbroken payloads)."""
    if header.base64:
        return b64_decoded_size(uri, header.payload_start)
    return percent_decoded_size(uri, header.payload_start)


def decode_into(uri: Any, header: DataURIHeader, dst: Any, dst_offset: int = 0) -> int:
    """Decode the payload of a parsed data URL into dst[dst_offset:]; return bytes written."""
    if header.base64:
        return b64decode_into(uri, dst, dst_offset, header.payload_start)
    return percent_decode_into(uri, dst, dst_offset, header.payload_start)


def decode(uri: Any) -> tuple[DataURIHeader, bytearray]:
    """(header, payload) of a data URL, the payload in a new bytearray."""
    header = parse(uri)
    out = bytearray(decoded_size(uri, header))
    n = decode_into(uri, header, out)
    del out[n:]
    return header, out
