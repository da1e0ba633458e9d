"""IPC frame codec (pure-Python twin of frames.pyx).

A message is one header frame: an 8-byte prefix (version, kind, flags, tag; little
endian) followed by the msgpack body. Large payloads travel as extra raw frames that
the codec never touches. The prefix lets a receiver route a message (by kind and tag)
before, or without, decoding the body.
"""

from __future__ import annotations

import struct
from typing import Any

import msgspec

VERSION = 1
PREFIX_SIZE = 8
_PREFIX = struct.Struct("<BBHI")


class FrameError(ValueError):
    """A header frame that is too short, of another protocol version, or not msgpack."""


class FrameCodec:
    """Encodes and decodes header frames; one decoder per message kind."""

    def __init__(self, decoders: dict[int, msgspec.msgpack.Decoder[Any]]) -> None:
        self._encoder = msgspec.msgpack.Encoder()
        self._decoders = dict(decoders)

    def encode(self, kind: int, tag: int, body: Any, flags: int = 0) -> bytearray:
        buf = bytearray(PREFIX_SIZE)
        self._encoder.encode_into(body, buf, PREFIX_SIZE)
        _PREFIX.pack_into(buf, 0, VERSION, kind, flags, tag)
        return buf

    def peek(self, frame: Any) -> tuple[int, int, int]:
        """(kind, flags, tag) without decoding the body."""
        view = memoryview(frame)
        if view.nbytes < PREFIX_SIZE:
            raise FrameError(f"header frame of {view.nbytes} bytes is shorter than its prefix")
        version, kind, flags, tag = _PREFIX.unpack_from(view, 0)
        if version != VERSION:
            raise FrameError(f"protocol version {version} is not supported (expected {VERSION})")
        return kind, flags, tag

    def decode(self, frame: Any) -> tuple[int, int, int, Any]:
        """(kind, flags, tag, body) of a header frame."""
        kind, flags, tag = self.peek(frame)
        decoder = self._decoders.get(kind)
        if decoder is None:
            raise FrameError(f"unknown message kind {kind}")
        try:
            body = decoder.decode(memoryview(frame)[PREFIX_SIZE:])
        except msgspec.DecodeError as exc:
            raise FrameError(f"message kind {kind}: {exc}") from None
        return kind, flags, tag, body
