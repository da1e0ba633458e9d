"""The scan that finds where a msgpack body's first large array payload starts."""

from __future__ import annotations

import random

import msgspec
import pytest

from cog.runtime.front.msgpack_scan import first_large_bin

BIG = b"\x93NUMPY" + bytes(70_000)  # a bin 32


def encode(value: object) -> bytes:
    return msgspec.msgpack.encode(value)


def test_the_one_input_of_the_issue_lies_at_offset_15() -> None:
    body = encode({"input": {"x": BIG}})
    assert first_large_bin(body, 100) == 15 == body.index(BIG)


@pytest.mark.parametrize(
    "before",
    [
        {"id": "an id", "webhook": "http://127.0.0.1:1/hook", "webhook_events_filter": ["start"]},
        {"context": {"a": "b" * 300}, "created_at": None, "n": -(2**40), "f": 1.5},
        {"nested": [[1, [2, {"k": [None, True, False]}]], {"x": {"y": 2**63}}]},
        {"bytes": b"x" * 70_000, "ext": msgspec.msgpack.Ext(5, b"e" * 300)},
        {"fixext": [msgspec.msgpack.Ext(1, b"a" * n) for n in (1, 2, 4, 8, 16)]},
    ],
)
def test_values_before_input_are_skipped(before: dict[str, object]) -> None:
    body = encode({**before, "input": {"x": BIG}})
    assert first_large_bin(body, 100) == body.index(BIG)


def test_inputs_before_the_array_are_skipped_small_bins_included() -> None:
    inputs = {
        "prompt": "s" * 40_000,
        "small": b"\x93NUMPY" + bytes(50),
        "list": [b"a" * 10, {"k": 1.0}],
        "n": 7,
        "x": BIG,
        "y": BIG + b"!",
    }
    body = encode({"id": "i", "input": inputs})
    assert first_large_bin(body, 100) == body.index(BIG)
    # the first of two large ones
    assert first_large_bin(body, 100) < body.index(BIG + b"!")


def test_only_named_inputs_count_when_names_are_given() -> None:
    doc = b"d" * 500
    body = encode({"input": {"doc": doc, "x": BIG}})
    assert first_large_bin(body, 100) == body.index(doc)
    assert first_large_bin(body, 100, names={"x"}) == body.index(BIG)
    assert first_large_bin(body, 100, names={"z"}) is None


def test_lists_of_bins_are_not_aligned() -> None:
    assert first_large_bin(encode({"input": {"docs": [BIG, BIG]}}), 100) is None


def test_the_payload_itself_need_not_have_arrived() -> None:
    body = encode({"input": {"x": BIG}})
    assert first_large_bin(body[:15], 100) == 15
    assert first_large_bin(body[:14], 100) is None  # the bin's length is cut
    assert first_large_bin(body, len(BIG) + 1) is None  # below the threshold


def test_truncated_prefixes_never_raise() -> None:
    body = encode({"id": "x" * 40, "input": {"doc": b"y" * 200, "n": 1.5, "x": BIG}})
    want = body.index(BIG)
    view = memoryview(body)
    for end in range(want + 100):
        got = first_large_bin(view[:end], 100, names={"x"})
        assert got == (want if end >= want else None), end


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xc1",  # never used
        b"\x93\x01\x02\x03",  # not a map
        encode({"input": [BIG]}),  # input not a map
        encode({"input": None}),
        encode({1: 2, "input": {"x": BIG}}),  # a key that is not a string
        encode({"input": {b"x": BIG}}),
        b"\x81\xa5input\x82\xa1a\xd9\xff\xa1x\xc4\x01",  # a skipped length beyond the body
        b"\x81\xa3inp\xff\xfeut\x81\xa1x\xc4\x05",  # a key that is not UTF-8
        b"\xdf\xff\xff\xff\xff" + b"\xc0" * 64,  # a huge count with nothing behind it
        b"\x81\xa5input\x81\xa1x\xdd\xff\xff\xff\xff",  # a huge array
        b"\x81\xa1a" + b"\x91" * 10_000 + b"\x01",  # deep nesting, no input
    ],
)
def test_garbage_answers_none(body: bytes) -> None:
    assert first_large_bin(body, 100) is None


def test_random_bytes_never_raise() -> None:
    rng = random.Random(7)
    prefix = encode({"id": "r", "input": {"a": 1}})[:9]
    for _ in range(3000):
        noise = rng.randbytes(rng.randrange(0, 64))
        for body in (noise, prefix + noise):
            got = first_large_bin(body, rng.choice((0, 1, 100)))
            assert got is None or 0 <= got <= len(body)


def test_any_buffer_kind() -> None:
    body = encode({"input": {"x": BIG}})
    assert first_large_bin(bytearray(body), 100) == 15
    assert first_large_bin(memoryview(body), 100) == 15
