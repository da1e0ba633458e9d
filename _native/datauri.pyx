# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Data-URL decoding straight into a caller's buffer, compiled. Same interface and errors as pure/datauri.py.

Base64 runs through four pre-shifted lookup tables (one per position in a 4-character
group), so a group costs four loads and an OR; a single comparison of the OR catches
every byte outside the alphabet, and only then does the careful path run, which skips
whitespace, checks padding and names the position of the first bad byte.
"""

from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_WRITABLE
from cpython.unicode cimport PyUnicode_Check
from libc.stdint cimport uint8_t, uint32_t
from libc.string cimport memchr

from urllib.parse import unquote

cdef extern from "Python.h":
    int PyUnicode_IS_ASCII(object) nogil
    void* PyUnicode_DATA(object) nogil


class DataURIError(ValueError):
    """Malformed data URL or payload; `position` is the offset of the offending character."""

    def __init__(self, message, position=None):
        super().__init__(message)
        self.position = position


cdef class DataURIHeader:
    """What precedes the comma of a data URL (RFC 2397)."""

    cdef readonly str media_type
    cdef readonly dict params
    cdef readonly bint base64
    cdef readonly Py_ssize_t payload_start

    def __init__(self, str media_type, dict params, bint base64, Py_ssize_t payload_start):
        self.media_type = media_type
        self.params = params
        self.base64 = base64
        self.payload_start = payload_start

    def __repr__(self):
        return (f"DataURIHeader(media_type={self.media_type!r}, params={self.params!r}, "
                f"base64={self.base64!r}, payload_start={self.payload_start!r})")

    def __eq__(self, other):
        if not isinstance(other, DataURIHeader):
            return NotImplemented
        return (self.media_type, self.params, self.base64, self.payload_start) == (
            other.media_type, other.params, other.base64, other.payload_start)


cdef uint32_t BAD = 0x01FFFFFF
cdef uint32_t D0[256]
cdef uint32_t D1[256]
cdef uint32_t D2[256]
cdef uint32_t D3[256]
cdef int VAL[256]      # 0..63, or -1 (not in the alphabet), -2 (whitespace), -3 ('=')
cdef int HEX[256]


cdef void _init_tables() noexcept:
    cdef const char* alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    cdef int i
    cdef uint32_t v
    for i in range(256):
        D0[i] = BAD
        D1[i] = BAD
        D2[i] = BAD
        D3[i] = BAD
        VAL[i] = -1
        HEX[i] = -1
    for i in range(64):
        v = <uint32_t>i
        D0[<uint8_t>alphabet[i]] = v << 2
        D1[<uint8_t>alphabet[i]] = (v >> 4) | ((v & 0xF) << 12)
        D2[<uint8_t>alphabet[i]] = ((v >> 2) << 8) | ((v & 0x3) << 22)
        D3[<uint8_t>alphabet[i]] = v << 16
        VAL[<uint8_t>alphabet[i]] = i
    for i in b" \t\r\n":
        VAL[i] = -2
    VAL[ord("=")] = -3
    for i in range(10):
        HEX[ord("0") + i] = i
    for i in range(6):
        HEX[ord("a") + i] = 10 + i
        HEX[ord("A") + i] = 10 + i


_init_tables()


cdef class _Source:
    """Read-only bytes of a str (ASCII) or a bytes-like object, released on close."""

    cdef Py_buffer view
    cdef bint has_view
    cdef const uint8_t* data
    cdef Py_ssize_t length
    cdef object keep

    def __cinit__(self, object src):
        self.has_view = False
        if PyUnicode_Check(src):
            if not PyUnicode_IS_ASCII(src):
                raise _non_ascii(src)
            self.keep = src
            self.data = <const uint8_t*>PyUnicode_DATA(src)
            self.length = len(<str>src)
        else:
            PyObject_GetBuffer(src, &self.view, PyBUF_SIMPLE)
            self.has_view = True
            self.data = <const uint8_t*>self.view.buf
            self.length = self.view.len

    def __dealloc__(self):
        if self.has_view:
            PyBuffer_Release(&self.view)


cdef object _non_ascii(str src):
    cdef Py_ssize_t i
    for i, ch in enumerate(src):
        if ord(ch) > 0x7F:
            return DataURIError(
                f"non-ASCII character {ch!r} at position {i}: a data URL carries only ASCII",
                i)
    return DataURIError("non-ASCII text", None)


cdef Py_ssize_t _bounds(Py_ssize_t length, Py_ssize_t start, Py_ssize_t end) except -1:
    if start < 0 or start > length:
        raise ValueError(f"start {start} is outside the source of {length} characters")
    if end < start or end > length:
        raise ValueError(f"end {end} is outside {start}..{length}")
    return 0


cdef Py_ssize_t _b64_bound(const uint8_t* s, Py_ssize_t start, Py_ssize_t end) noexcept:
    cdef Py_ssize_t n = end - start
    cdef Py_ssize_t pad = 0
    cdef Py_ssize_t i = end - 1
    while i >= start and VAL[s[i]] == -2:
        i -= 1
    while i >= start and s[i] == ord("=") and pad < 2:
        pad += 1
        i -= 1
    return (n + 3) // 4 * 3 - pad


cdef str _char_repr(uint8_t c):
    return repr(chr(c))


cdef object _bad_char(const uint8_t* s, Py_ssize_t pos):
    cdef uint8_t c = s[pos]
    hint = ""
    if c == ord("-") or c == ord("_"):
        hint = " (the URL-safe alphabet is not accepted: use '+' and '/')"
    elif c == ord("%"):
        hint = " (percent-encoded base64 is not accepted)"
    return DataURIError(
        f"invalid base64 character {_char_repr(c)} (0x{c:02x}) at position {pos}{hint}", pos)


cdef Py_ssize_t _b64_careful(const uint8_t* s, Py_ssize_t i, Py_ssize_t end,
                             uint8_t* out) except -1:
    """Decode s[i:end] one character at a time; return bytes written."""
    cdef int q[4]
    cdef int nq = 0
    cdef int v
    cdef Py_ssize_t w = 0
    cdef Py_ssize_t group_start = i
    cdef Py_ssize_t p
    while i < end:
        v = VAL[s[i]]
        if v >= 0:
            if nq == 0:
                group_start = i
            q[nq] = v
            nq += 1
            if nq == 4:
                out[w] = <uint8_t>((q[0] << 2) | (q[1] >> 4))
                out[w + 1] = <uint8_t>(((q[1] & 0xF) << 4) | (q[2] >> 2))
                out[w + 2] = <uint8_t>(((q[2] & 0x3) << 6) | q[3])
                w += 3
                nq = 0
        elif v == -2:
            pass
        elif v == -3:
            if nq < 2:
                raise DataURIError(f"misplaced padding '=' at position {i}", i)
            out[w] = <uint8_t>((q[0] << 2) | (q[1] >> 4))
            w += 1
            if nq == 3:
                out[w] = <uint8_t>(((q[1] & 0xF) << 4) | (q[2] >> 2))
                w += 1
            p = i + 1
            if nq == 2:
                while p < end and VAL[s[p]] == -2:
                    p += 1
                if p >= end or s[p] != ord("="):
                    raise DataURIError(
                        f"incomplete padding at position {p}: a group of 2 characters "
                        "ends with '=='", p)
                p += 1
            while p < end:
                if VAL[s[p]] != -2:
                    raise DataURIError(
                        f"data after the padding at position {p}", p)
                p += 1
            return w
        else:
            raise _bad_char(s, i)
        i += 1
    if nq:
        raise DataURIError(
            f"base64 data ends with an incomplete group of {nq} character"
            f"{'s' if nq > 1 else ''} at position {group_start} (truncated, or missing '=' padding)",
            group_start)
    return w


cdef Py_ssize_t _b64_decode(const uint8_t* s, Py_ssize_t start, Py_ssize_t end,
                            uint8_t* out) except -1:
    cdef Py_ssize_t i = start
    cdef Py_ssize_t w = 0
    cdef uint32_t x
    # Whole groups, stopping before the last one (it may hold padding).
    cdef Py_ssize_t fast_end = end - 4
    with nogil:
        while i + 8 <= fast_end:
            x = D0[s[i]] | D1[s[i + 1]] | D2[s[i + 2]] | D3[s[i + 3]]
            if x >= 0x01000000:
                break
            out[w] = <uint8_t>x
            out[w + 1] = <uint8_t>(x >> 8)
            out[w + 2] = <uint8_t>(x >> 16)
            x = D0[s[i + 4]] | D1[s[i + 5]] | D2[s[i + 6]] | D3[s[i + 7]]
            if x >= 0x01000000:
                i += 4
                w += 3
                break
            out[w + 3] = <uint8_t>x
            out[w + 4] = <uint8_t>(x >> 8)
            out[w + 5] = <uint8_t>(x >> 16)
            i += 8
            w += 6
    return w + _b64_careful(s, i, end, out + w)


cdef class _Dest:
    cdef Py_buffer view
    cdef bint has_view
    cdef uint8_t* data
    cdef Py_ssize_t room

    def __cinit__(self, object dst, Py_ssize_t offset):
        self.has_view = False
        PyObject_GetBuffer(dst, &self.view, PyBUF_SIMPLE | PyBUF_WRITABLE)
        self.has_view = True
        if offset < 0 or offset > self.view.len:
            raise ValueError(
                f"destination offset {offset} is outside the destination of {self.view.len} bytes")
        self.data = <uint8_t*>self.view.buf + offset
        self.room = self.view.len - offset

    def __dealloc__(self):
        if self.has_view:
            PyBuffer_Release(&self.view)


cdef int _check_room(_Dest d, Py_ssize_t need) except -1:
    if need > d.room:
        raise ValueError(
            f"destination has {d.room} bytes from the offset, the decoded data needs up to {need}")
    return 0


def b64_decoded_size(src, Py_ssize_t start=0, Py_ssize_t end=-1):
    """Bytes that `b64decode_into` may write for src[start:end]; exact unless it has whitespace."""
    cdef _Source s = _Source(src)
    if end < 0:
        end = s.length
    _bounds(s.length, start, end)
    return _b64_bound(s.data, start, end)


def b64decode_into(src, dst, Py_ssize_t dst_offset=0, Py_ssize_t start=0, Py_ssize_t end=-1):
    """Decode base64 src[start:end] into dst[dst_offset:]; return the bytes written."""
    cdef _Source s = _Source(src)
    if end < 0:
        end = s.length
    _bounds(s.length, start, end)
    cdef _Dest d = _Dest(dst, dst_offset)
    _check_room(d, _b64_bound(s.data, start, end))
    return _b64_decode(s.data, start, end, d.data)


cdef object _percent_source(src, Py_ssize_t* start, Py_ssize_t* end):
    """Percent-decoding reads UTF-8: a str with non-ASCII characters is encoded first."""
    if PyUnicode_Check(src) and not PyUnicode_IS_ASCII(src):
        if end[0] < 0:
            end[0] = len(src)
        head = len(src[:start[0]].encode("utf-8"))
        body = len(src[start[0]:end[0]].encode("utf-8"))
        start[0] = head
        end[0] = head + body
        return src.encode("utf-8")
    return src


cdef Py_ssize_t _count_percent(const uint8_t* s, Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    cdef Py_ssize_t n = 0
    cdef const uint8_t* p = s + start
    cdef const uint8_t* stop = s + end
    while p < stop:
        p = <const uint8_t*>memchr(p, ord("%"), stop - p)
        if p == NULL:
            break
        n += 1
        p += 1
    return n


def percent_decoded_size(src, Py_ssize_t start=0, Py_ssize_t end=-1):
    """Bytes that `percent_decode_into` writes for src[start:end] (exact for valid input)."""
    src = _percent_source(src, &start, &end)
    cdef _Source s = _Source(src)
    if end < 0:
        end = s.length
    _bounds(s.length, start, end)
    cdef Py_ssize_t n = _count_percent(s.data, start, end)
    return max(end - start - 2 * n, 0)


def percent_decode_into(src, dst, Py_ssize_t dst_offset=0, Py_ssize_t start=0, Py_ssize_t end=-1):
    """Decode percent-encoded src[start:end] (RFC 3986 escapes) into dst; return bytes written."""
    src = _percent_source(src, &start, &end)
    cdef _Source s = _Source(src)
    if end < 0:
        end = s.length
    _bounds(s.length, start, end)
    cdef _Dest d = _Dest(dst, dst_offset)
    _check_room(d, max(end - start - 2 * _count_percent(s.data, start, end), 0))
    cdef const uint8_t* p = s.data
    cdef uint8_t* out = d.data
    cdef Py_ssize_t i = start
    cdef Py_ssize_t w = 0
    cdef int hi, lo
    while i < end:
        if p[i] != ord("%"):
            out[w] = p[i]
            i += 1
        else:
            hi = HEX[p[i + 1]] if i + 1 < end else -1
            lo = HEX[p[i + 2]] if i + 2 < end else -1
            if hi < 0 or lo < 0:
                raise DataURIError(
                    f"bad percent escape {bytes(p[i:min(i + 3, end)]).decode('latin-1')!r} "
                    f"at position {i}: '%' must be followed by two hex digits", i)
            out[w] = <uint8_t>((hi << 4) | lo)
            i += 3
        w += 1
    return w


def parse(uri):
    """Parse the header of a data URL: media type, parameters, base64 flag, payload start."""
    cdef Py_ssize_t comma
    cdef const uint8_t* hit
    if PyUnicode_Check(uri):
        comma = (<str>uri).find(",")
        head = (<str>uri)[:comma if comma >= 0 else 5]
    else:
        with memoryview(uri) as view:
            flat = view.cast("B")
            s = _Source(flat)
            hit = <const uint8_t*>memchr(s.data, ord(","), s.length)
            comma = (hit - s.data) if hit != NULL else -1
            head = bytes(flat[:comma if comma >= 0 else 5]).decode("latin-1")
    if head[:5].lower() != "data:":
        raise DataURIError(f"not a data URL: it starts with {head[:5]!r}, expected 'data:'", 0)
    if comma < 0:
        raise DataURIError("data URL has no ',' between its header and its data", None)
    return _parse_header(head[5:], comma)


cdef DataURIHeader _parse_header(str header, Py_ssize_t comma):
    parts = header.split(";")
    media_type = parts[0].strip().lower()
    is_base64 = False
    if len(parts) > 1 and parts[len(parts) - 1].strip().lower() == "base64":
        is_base64 = True
        parts.pop()
    params = {}
    pos = 5 + len(parts[0]) + 1
    for part in parts[1:]:
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise DataURIError(
                f"malformed data URL parameter {part!r} at position {pos}: expected name=value "
                "(only the last parameter may be 'base64')", pos)
        params[key.strip().lower()] = unquote(value.strip())
        pos += len(part) + 1
    if not media_type:
        media_type = "text/plain"
        params.setdefault("charset", "US-ASCII")
    elif "/" not in media_type:
        raise DataURIError(
            f"malformed media type {parts[0]!r} at position 5: expected type/subtype", 5)
    return DataURIHeader(media_type, params, is_base64, comma + 1)


def decoded_size(uri, DataURIHeader header):
    """Bytes that `decode_into` may write for this data URL (exact for unbroken payloads)."""
    if header.base64:
        return b64_decoded_size(uri, header.payload_start)
    return percent_decoded_size(uri, header.payload_start)


def decode_into(uri, DataURIHeader header, dst, Py_ssize_t dst_offset=0):
    """Decode the payload of a parsed data URL into dst[dst_offset:]; return bytes written."""
    if header.base64:
        return b64decode_into(uri, dst, dst_offset, header.payload_start)
    return percent_decode_into(uri, dst, dst_offset, header.payload_start)


def decode(uri):
    """(header, payload) of a data URL, the payload in a new bytearray."""
    header = parse(uri)
    out = bytearray(decoded_size(uri, header))
    n = decode_into(uri, header, out)
    del out[n:]
    return header, out
