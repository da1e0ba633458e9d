""".npy header parsing and writing: compiled module and pure twin behave the same."""

import io

import numpy as np
import pytest

from cog._native.select import native


@pytest.fixture(params=["compiled", "pure"])
def npy(request):
    return native("npy", pure=request.param == "pure")


def saved(array, **kwargs):
    out = io.BytesIO()
    np.save(out, array, **kwargs)
    return out.getvalue()


def is_fortran(array):
    return bool(array.flags.f_contiguous and not array.flags.c_contiguous)


def with_header(text, data=b"", version=(1, 0)):
    raw = text.encode("latin1")
    if version == (1, 0):
        return b"\x93NUMPY\x01\x00" + len(raw).to_bytes(2, "little") + raw + data
    return b"\x93NUMPY" + bytes(version) + len(raw).to_bytes(4, "little") + raw + data


def test_compiled_module_is_the_default():
    assert native("npy").__file__.endswith(".so")


ARRAYS = [
    np.arange(12, dtype="<f4").reshape(3, 4),
    np.arange(24, dtype=">i8").reshape(2, 3, 4),
    np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
    np.array(3.5),
    np.zeros((0, 5), dtype=np.uint8),
    np.array([True, False]),
    np.array(["ab", "cde"]),
    np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")]),
    np.arange(10, dtype=np.complex64),
]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{a.shape}")
def test_reads_what_numpy_writes(npy, array):
    buf = saved(array)
    dtype, shape, offset, fortran_order = npy.parse_header(buf)
    assert dtype == array.dtype and shape == array.shape
    assert offset == len(buf) - array.nbytes
    assert fortran_order == is_fortran(array)
    loaded = npy.load(buf)
    assert loaded.dtype == array.dtype and np.array_equal(loaded, array)


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{a.shape}")
def test_numpy_reads_what_it_writes(npy, array):
    fortran = is_fortran(array)
    buf = npy.header_bytes(array.dtype, array.shape, fortran) + array.tobytes(
        order="F" if fortran else "C"
    )
    assert len(npy.header_bytes(array.dtype, array.shape, fortran)) % 64 == 0
    back = np.load(io.BytesIO(buf))
    assert back.dtype == array.dtype and np.array_equal(back, array)


@pytest.mark.parametrize("ndim", [0, 1, 2, 20, 30, 31, 32, 40])
@pytest.mark.parametrize("fortran", [False, True])
def test_writes_numpys_exact_header(npy, ndim, fortran):
    array = np.zeros((2, 3, *(1,) * (ndim - 2))[:ndim], np.float32)
    if fortran and ndim > 1:
        array = np.asfortranarray(array)
        assert is_fortran(array)
    order = is_fortran(array)
    assert (
        npy.header_bytes(array.dtype, array.shape, order) == saved(array)[: -array.nbytes or None]
    )


def test_load_is_a_view(npy):
    buf = bytearray(saved(np.zeros(4, np.int32)))
    array = npy.load(buf)
    array[2] = 7
    assert np.frombuffer(buf, np.int32, 4, len(buf) - 16)[2] == 7


@pytest.mark.parametrize("version", [(2, 0), (3, 0)])
def test_versions_2_and_3(npy, version):
    text = "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }\n"
    buf = with_header(text, b"\x01\x00\x02\x00", version)
    dtype, shape, offset, _ = npy.parse_header(buf)
    assert (dtype, shape, offset) == (np.dtype("<u2"), (2,), 12 + len(text))
    assert list(npy.load(buf)) == [1, 2]


def test_large_header_needs_version_2(npy):
    fields = [(f"field{i}", "<f4") for i in range(4000)]
    header = npy.header_bytes(np.dtype(fields), (1,))
    assert header[6:8] == b"\x02\x00"
    assert npy.parse_header(header + bytes(16000))[0] == np.dtype(fields)


def test_unusual_spelling_is_accepted(npy):
    text = '{"shape": ( 2 , 3 ), "fortran_order": False, "descr": "|u1"}'
    assert npy.parse_header(with_header(text, bytes(6)))[:2] == (np.dtype("u1"), (2, 3))


def test_total_size_for_a_payload_still_arriving(npy):
    buf = saved(np.zeros(1000, np.float64))
    head = buf[:128]
    assert npy.parse_header(head, total_size=len(buf))[2] == 128
    with pytest.raises(npy.NpyError, match="truncated .npy data"):
        npy.parse_header(head, total_size=len(buf) - 1)


GOOD = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"


@pytest.mark.parametrize(
    "buf, message",
    [
        (b"\x93NUMPY\x01", "truncated .npy payload: 7 bytes is shorter than its preamble"),
        (b"PK\x03\x04" + bytes(20), "not a .npy payload: it starts with b'PK\\x03\\x04"),
        (b"\x93NUMPY\x04\x00" + bytes(20), "unsupported .npy format version 4.0"),
        (b"\x93NUMPY\x01\x00\xff\x00{}", "truncated .npy header: it claims 255 bytes but only 2"),
        (
            with_header(GOOD, bytes(8)),
            "truncated .npy data: the header says shape (3,) of float32 = 12 bytes, but 8",
        ),
        (
            with_header(GOOD, bytes(16)),
            "trailing bytes after the .npy data: the header says shape (3,) of float32 = 12 bytes, but 16",
        ),
        (
            with_header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", bytes(8)),
            "object arrays (descr '|O') are not supported",
        ),
        (
            with_header(
                "{'descr': [('a', '|O')], 'fortran_order': False, 'shape': (1,), }", bytes(8)
            ),
            "object arrays",
        ),
        (
            with_header("{'descr': '<x9', 'fortran_order': False, 'shape': (1,), }"),
            "unsupported dtype descr '<x9'",
        ),
        (
            with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"),
            "shape must be a tuple of non-negative integers, not (-1,)",
        ),
        (
            with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3), }"),
            "shape must be a tuple of non-negative integers, not 3",
        ),
        (with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,), }"), "not (1.5,)"),
        (
            with_header("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }", bytes(12)),
            "fortran_order must be True or False, not 0",
        ),
        (
            with_header("{'descr': '<f4', 'shape': (3,), }", bytes(12)),
            "exactly the keys 'descr', 'fortran_order' and 'shape', not [\"'descr'\", \"'shape'\"]",
        ),
        (
            with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}"),
            "exactly the keys",
        ),
        (with_header("[1, 2]"), "the .npy header is not a dict"),
        (with_header("{'descr': __import__('os')}"), "malformed .npy header"),
        (b"\x93NUMPY\x03\x00\x04\x00\x00\x00\xff\xfe\xfd\n", "the .npy header is not utf8 text"),
    ],
)
def test_bad_payloads(npy, buf, message):
    with pytest.raises(npy.NpyError) as info:
        npy.parse_header(buf)
    assert message in str(info.value)


def test_shape_too_large_for_memory(npy):
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (9999999999, 9999999999), }"
    with pytest.raises(npy.NpyError, match="truncated .npy data: .* = 799999999840000000008 bytes"):
        npy.parse_header(with_header(text))


def test_cannot_write_object_arrays(npy):
    with pytest.raises(npy.NpyError, match="object arrays"):
        npy.header_bytes(object, (1,))
