"""Data-URL decoding into a buffer: compiled module and pure twin behave the same."""

import base64
import random
from urllib.parse import quote_from_bytes, unquote_to_bytes

import numpy as np
import pytest

from cog._native.select import native


@pytest.fixture(params=["compiled", "pure"])
def datauri(request):
    return native("datauri", pure=request.param == "pure")


def test_compiled_module_is_the_default():
    assert native("datauri").__file__.endswith(".so")


@pytest.mark.parametrize("size", list(range(0, 40)) + [1000, 65537])
def test_base64_round_trip_every_tail_length(datauri, size):
    raw = random.Random(size).randbytes(size)
    uri = "data:application/octet-stream;base64," + base64.b64encode(raw).decode()
    header = datauri.parse(uri)
    assert datauri.decoded_size(uri, header) == size
    out = bytearray(size + 5)
    assert datauri.decode_into(uri, header, out, 5) == size
    assert out[5:] == raw and out[:5] == bytes(5)


def test_sources_str_bytes_memoryview(datauri):
    raw = bytes(range(256)) * 3
    text = "data:image/png;base64," + base64.b64encode(raw).decode()
    for src in (text, text.encode(), memoryview(text.encode()), bytearray(text.encode())):
        header, payload = datauri.decode(src)
        assert payload == raw
        assert header.media_type == "image/png" and header.base64


def test_decodes_into_numpy_and_at_an_offset(datauri):
    values = np.arange(1000, dtype=np.float32)
    b64 = base64.b64encode(values.tobytes()).decode()
    dst = np.zeros(1100, dtype=np.float32)
    n = datauri.b64decode_into(b64, dst, dst_offset=400)
    assert n == 4000
    assert np.array_equal(dst[100:], values) and not dst[:100].any()


def test_base64_with_line_breaks(datauri):
    raw = random.Random(1).randbytes(500)
    b64 = base64.encodebytes(raw).decode()  # MIME lines of 76 characters
    assert "\n" in b64
    uri = "data:;base64," + b64
    header = datauri.parse(uri)
    assert datauri.decoded_size(uri, header) >= len(raw)
    assert datauri.decode(uri)[1] == raw


def test_start_and_end_select_a_slice(datauri):
    text = "xxQUJDRA==yy"
    out = bytearray(4)
    assert datauri.b64decode_into(text, out, 0, 2, 10) == 4
    assert out == b"ABCD"
    assert datauri.b64_decoded_size(text, 2, 10) == 4


@pytest.mark.parametrize(
    "raw",
    [b"", b"hello world", "h\u00e9llo \u2603".encode(), bytes(range(256))],
)
def test_percent_round_trip(datauri, raw):
    uri = "data:text/plain;charset=utf-8," + quote_from_bytes(raw)
    header, payload = datauri.decode(uri)
    assert payload == raw
    assert not header.base64 and header.params == {"charset": "utf-8"}
    assert datauri.decoded_size(uri, header) == len(raw)


def test_percent_payload_with_raw_non_ascii_text_is_utf8(datauri):
    header, payload = datauri.decode("data:,h\u00e9llo%20\u2603")
    assert payload == unquote_to_bytes("h\u00e9llo%20\u2603".encode())


@pytest.mark.parametrize(
    "uri, media_type, params, is_base64",
    [
        ("data:,x", "text/plain", {"charset": "US-ASCII"}, False),
        ("data:;base64,", "text/plain", {"charset": "US-ASCII"}, True),
        ("DATA:Image/PNG;BASE64,", "image/png", {}, True),
        (
            "data:application/x-npy;name=a%20b.npy;base64,",
            "application/x-npy",
            {"name": "a b.npy"},
            True,
        ),
        (
            "data:text/csv;charset=utf-8;header=present,",
            "text/csv",
            {"charset": "utf-8", "header": "present"},
            False,
        ),
    ],
)
def test_header(datauri, uri, media_type, params, is_base64):
    header = datauri.parse(uri)
    assert (header.media_type, header.params, header.base64) == (media_type, params, is_base64)
    assert header.payload_start == uri.index(",") + 1


@pytest.mark.parametrize(
    "uri, message, position",
    [
        ("http://x/y.png", "not a data URL: it starts with 'http:'", 0),
        ("data:text/plain", "has no ','", None),
        ("data:text;base64,QUJD", "malformed media type 'text'", 5),
        ("data:a/b;x;base64,QUJD", "malformed data URL parameter 'x' at position 9", 9),
        ("data:;base64,QU!D", "invalid base64 character '!' (0x21) at position 15", 15),
        ("data:;base64,QUJDQU_D", "URL-safe alphabet is not accepted", 19),
        ("data:;base64,QUJD%3D", "percent-encoded base64 is not accepted", 17),
        ("data:;base64,QUJ", "incomplete group of 3 characters at position 13", 13),
        ("data:;base64,QUJDQ", "incomplete group of 1 character at position 17", 17),
        ("data:;base64,Q===", "misplaced padding '=' at position 14", 14),
        ("data:;base64,=QUJ", "misplaced padding '=' at position 13", 13),
        ("data:;base64,QQ=x", "incomplete padding at position 16", 16),
        ("data:;base64,QUI=QUJD", "data after the padding at position 17", 17),
        ("data:;base64,QUJD\u00e9", "non-ASCII character '\u00e9' at position 17", 17),
        ("data:,a%2", "bad percent escape '%2' at position 7", 7),
        ("data:,ab%zz", "bad percent escape '%zz' at position 8", 8),
    ],
)
def test_malformed(datauri, uri, message, position):
    with pytest.raises(datauri.DataURIError) as info:
        datauri.decode(uri)
    assert message in str(info.value)
    assert info.value.position == position


def test_corruption_reported_identically_by_both():
    compiled, pure = native("datauri", pure=False), native("datauri", pure=True)
    rng = random.Random(7)
    alphabet = [chr(c) for c in range(32, 127)] + ["\n", "\t"]
    for _ in range(300):
        text = base64.b64encode(rng.randbytes(rng.randrange(1, 60))).decode()
        chars = list(text)
        for _ in range(rng.randrange(1, 3)):
            chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        uri = "data:;base64," + "".join(chars)
        results = []
        for mod in (compiled, pure):
            try:
                results.append(("ok", bytes(mod.decode(uri)[1])))
            except mod.DataURIError as exc:
                results.append(("error", str(exc), exc.position))
        assert results[0] == results[1], uri
        if results[0][0] == "ok":
            clean = "".join(c for c in uri[13:] if c not in " \t\r\n")
            assert results[0][1] == base64.b64decode(clean, validate=True), uri


def test_destination_too_small(datauri):
    with pytest.raises(
        ValueError, match="destination has 2 bytes from the offset, the decoded data needs up to 3"
    ):
        datauri.b64decode_into("QUJD", bytearray(4), 2)
    with pytest.raises(ValueError, match="destination offset 9 is outside"):
        datauri.b64decode_into("QUJD", bytearray(4), 9)
    with pytest.raises(ValueError, match="needs up to 2"):
        datauri.percent_decode_into("a%20", bytearray(1))


def test_read_only_destination(datauri):
    with pytest.raises(BufferError):
        datauri.b64decode_into("QUJD", b"xxxx")


def test_bad_slice_bounds(datauri):
    with pytest.raises(ValueError, match="start 9 is outside"):
        datauri.b64decode_into("QUJD", bytearray(4), 0, 9)
    with pytest.raises(ValueError, match="end 9 is outside"):
        datauri.b64decode_into("QUJD", bytearray(4), 0, 0, 9)
