# cython: language_level=3, boundscheck=False, wraparound=False
"""IPC frame codec, compiled. Same interface and wire format as pure/frames.py."""

from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from cpython.bytearray cimport PyByteArray_AS_STRING
from libc.stdint cimport uint8_t, uint16_t, uint32_t

import msgspec

VERSION = 1
PREFIX_SIZE = 8
cdef int _VERSION = 1
cdef Py_ssize_t _PREFIX_SIZE = 8


class FrameError(ValueError):
    """A header frame that is too short, of another protocol version, or not msgpack."""


cdef inline void _put(char* p, uint8_t kind, uint16_t flags, uint32_t tag) noexcept:
    cdef uint8_t* b = <uint8_t*>p
    b[0] = <uint8_t>_VERSION
    b[1] = kind
    b[2] = flags & 0xFF
    b[3] = (flags >> 8) & 0xFF
    b[4] = tag & 0xFF
    b[5] = (tag >> 8) & 0xFF
    b[6] = (tag >> 16) & 0xFF
    b[7] = (tag >> 24) & 0xFF


cdef class FrameCodec:
    """Encodes and decodes header frames; one decoder per message kind."""

    cdef object _encoder
    cdef dict _decoders

    def __init__(self, dict decoders):
        self._encoder = msgspec.msgpack.Encoder()
        self._decoders = dict(decoders)

    def encode(self, int kind, unsigned int tag, body, int flags=0):
        cdef bytearray buf = bytearray(_PREFIX_SIZE)
        self._encoder.encode_into(body, buf, _PREFIX_SIZE)
        _put(PyByteArray_AS_STRING(buf), <uint8_t>kind, <uint16_t>flags, <uint32_t>tag)
        return buf

    cdef tuple _peek(self, object frame):
        cdef Py_buffer view
        cdef const uint8_t* b
        cdef int version
        PyObject_GetBuffer(frame, &view, PyBUF_SIMPLE)
        try:
            if view.len < _PREFIX_SIZE:
                raise FrameError(
                    f"header frame of {view.len} bytes is shorter than its prefix")
            b = <const uint8_t*>view.buf
            version = b[0]
            if version != _VERSION:
                raise FrameError(
                    f"protocol version {version} is not supported (expected {_VERSION})")
            return (
                <int>b[1],
                <int>(b[2] | (b[3] << 8)),
                <unsigned int>(b[4] | (b[5] << 8) | (b[6] << 16) | (<uint32_t>b[7] << 24)),
            )
        finally:
            PyBuffer_Release(&view)

    def peek(self, frame):
        """(kind, flags, tag) without decoding the body."""
        return self._peek(frame)

    def decode(self, frame):
        """(kind, flags, tag, body) of a header frame."""
        cdef tuple head = self._peek(frame)
        kind = head[0]
        decoder = self._decoders.get(kind)
        if decoder is None:
            raise FrameError(f"unknown message kind {kind}")
        try:
            body = decoder.decode(memoryview(frame)[_PREFIX_SIZE:])
        except msgspec.DecodeError as exc:
            raise FrameError(f"message kind {kind}: {exc}") from None
        return (kind, head[1], head[2], body)
