"""The IPC frame codec: compiled module and pure twin behave the same."""

import msgspec
import pytest

from cog._native.select import native


@pytest.fixture(params=["compiled", "pure"])
def frames(request):
    return native("frames", pure=request.param == "pure")


def test_compiled_module_is_the_default():
    mod = native("frames")
    assert mod.__file__.endswith(".so"), mod.__file__


def test_round_trip(frames):
    codec = frames.FrameCodec({7: msgspec.msgpack.Decoder(dict)})
    buf = codec.encode(7, 0xDEADBEEF, {"id": "p1", "n": [1, 2]}, flags=0x1234)
    assert codec.peek(bytes(buf)) == (7, 0x1234, 0xDEADBEEF)
    assert codec.decode(memoryview(buf)) == (7, 0x1234, 0xDEADBEEF, {"id": "p1", "n": [1, 2]})


def test_same_bytes_both_ways():
    a = native("frames", pure=False).FrameCodec({})
    b = native("frames", pure=True).FrameCodec({})
    assert bytes(a.encode(3, 9, ["x", 1.5])) == bytes(b.encode(3, 9, ["x", 1.5]))


def test_typed_decoder(frames):
    class Msg(msgspec.Struct):
        id: str
        n: int

    codec = frames.FrameCodec({1: msgspec.msgpack.Decoder(Msg)})
    assert codec.decode(codec.encode(1, 0, Msg("a", 2)))[3] == Msg("a", 2)
    with pytest.raises(frames.FrameError, match="message kind 1"):
        codec.decode(codec.encode(1, 0, {"id": 3}))


@pytest.mark.parametrize(
    "frame, message",
    [
        (b"\x01\x02", "shorter than its prefix"),
        (b"\x09\x01\x00\x00\x00\x00\x00\x00\x80", "protocol version 9"),
        (b"\x01\x63\x00\x00\x00\x00\x00\x00\x80", "unknown message kind 99"),
        (b"\x01\x01\x00\x00\x00\x00\x00\x00\xc1", "message kind 1"),
    ],
)
def test_bad_frames(frames, frame, message):
    codec = frames.FrameCodec({1: msgspec.msgpack.Decoder(dict)})
    with pytest.raises(frames.FrameError, match=message):
        codec.decode(frame)
