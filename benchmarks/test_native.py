"""Micro benchmarks of the zero-copy building blocks: each compiled function against its
pure twin, and data-URL decoding against the standard library at 1 and 64 MiB.

    .venv/bin/python -m pytest benchmarks/test_native.py --benchmark-only \
        --benchmark-group-by=group --benchmark-columns=min,median,mean,rounds

The ratios are reported in docs/zero-copy.md.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
from types import ModuleType

import numpy as np
import pytest

from cog._native.select import native
from cog.shm import Slab

SIZES = {"1MiB": 1 << 20, "64MiB": 64 << 20}


def implementation(name: str, which: str) -> ModuleType:
    return native(name, pure=which == "pure")


@pytest.fixture(scope="module", params=list(SIZES))
def uri(request: pytest.FixtureRequest) -> tuple[str, bytes]:
    raw = os.urandom(SIZES[request.param])
    return "data:application/octet-stream;base64," + base64.b64encode(raw).decode(), raw


def _rounds(uri: str) -> int:
    return 30 if len(uri) < (8 << 20) else 5


@pytest.mark.parametrize("which", ["compiled", "pure"])
def test_datauri_decode_into(benchmark, uri: tuple[str, bytes], which: str) -> None:
    """Decode a data URL into a preallocated buffer (the slab path: no bytes object)."""
    text, raw = uri
    benchmark.group = f"data URL decode {len(raw) >> 20} MiB"
    mod = implementation("datauri", which)
    header = mod.parse(text)
    out = bytearray(mod.decoded_size(text, header))
    n = benchmark.pedantic(
        mod.decode_into, (text, header, out), rounds=_rounds(text), warmup_rounds=1
    )
    assert n == len(raw) and out == raw


def test_stdlib_b64decode(benchmark, uri: tuple[str, bytes]) -> None:
    """The reference: `base64.b64decode` of the payload (what a Python server does)."""
    text, raw = uri
    benchmark.group = f"data URL decode {len(raw) >> 20} MiB"
    start = text.index(",") + 1
    out = benchmark.pedantic(
        lambda: base64.b64decode(text[start:]), rounds=_rounds(text), warmup_rounds=1
    )
    assert out == raw


def test_stdlib_a2b_base64(benchmark, uri: tuple[str, bytes]) -> None:
    """`binascii.a2b_base64` on bytes: the fastest standard-library decoder."""
    text, raw = uri
    benchmark.group = f"data URL decode {len(raw) >> 20} MiB"
    payload = text[text.index(",") + 1 :].encode()
    out = benchmark.pedantic(binascii.a2b_base64, (payload,), rounds=_rounds(text), warmup_rounds=1)
    assert out == raw


def test_slab_put_data_uri(benchmark, uri: tuple[str, bytes]) -> None:
    """End to end at the front: parse, allocate in the shared slab, decode, trim."""
    text, raw = uri
    benchmark.group = f"data URL decode {len(raw) >> 20} MiB"
    slab = Slab(128 << 20)
    try:

        def put() -> int:
            _, block = slab.put_data_uri(text)
            slab.free(block)
            return block.length

        assert benchmark.pedantic(put, rounds=_rounds(text), warmup_rounds=1) == len(raw)
    finally:
        slab.close()


PERCENT = "data:text/plain;charset=utf-8," + "hello%20world%21%0A" * 1024


@pytest.mark.parametrize("which", ["compiled", "pure"])
def test_percent_decode(benchmark, which: str) -> None:
    benchmark.group = "percent-encoded data URL 19 KiB"
    mod = implementation("datauri", which)
    header, payload = benchmark(mod.decode, PERCENT)
    assert payload == b"hello world!\n" * 1024


def _npy_header() -> bytes:
    out = io.BytesIO()
    np.save(out, np.zeros((64, 3, 224, 224), np.float32))
    return out.getvalue()


NPY = _npy_header()


@pytest.mark.parametrize("which", ["compiled", "pure"])
def test_npy_parse_header(benchmark, which: str) -> None:
    benchmark.group = "npy header"
    mod = implementation("npy", which)
    dtype, shape, offset, _ = benchmark(mod.parse_header, NPY)
    assert shape == (64, 3, 224, 224) and offset == 128


def test_numpy_read_header(benchmark) -> None:
    """numpy's own reader (file-like, ast.literal_eval), for scale."""
    benchmark.group = "npy header"

    def read() -> tuple:
        f = io.BytesIO(NPY[:128])
        np.lib.format.read_magic(f)
        return np.lib.format.read_array_header_1_0(f)

    assert benchmark(read)[0] == (64, 3, 224, 224)


@pytest.mark.parametrize("which", ["compiled", "pure"])
def test_slab_alloc_free(benchmark, which: str) -> None:
    """One prediction's worth of slab traffic: three ranges allocated, then freed."""
    benchmark.group = "slab alloc+free x3"
    allocator = implementation("slab", which).SlabAllocator(256 << 20)
    held = [allocator.alloc(1 << 20) for _ in range(50)]
    for offset in held[::2]:
        allocator.free(offset)  # a fragmented free list, as after a busy minute

    def cycle() -> None:
        a = allocator.alloc(4 << 20)
        b = allocator.alloc(1000)
        c = allocator.alloc(300_000)
        allocator.free(b)
        allocator.free(a)
        allocator.free(c)

    benchmark(cycle)
    assert allocator.allocations == 25


@pytest.mark.parametrize("which", ["compiled", "pure"])
def test_array_view(benchmark, which: str) -> None:
    """Descriptor to numpy array over a 64 MiB segment (the worker's per-input cost)."""
    benchmark.group = "descriptor to array"
    mod = implementation("slab", which)
    buf = bytearray(64 << 20)
    shape = (64, 3, 224, 224)
    array = benchmark(mod.array_view, buf, 4096, 4 * 64 * 3 * 224 * 224, "float32", shape)
    assert array.shape == shape and array.base is not None


def test_numpy_frombuffer_reshape(benchmark) -> None:
    """The plain numpy spelling, for scale."""
    benchmark.group = "descriptor to array"
    buf = bytearray(64 << 20)
    array = benchmark(
        lambda: np.frombuffer(buf, np.float32, 64 * 3 * 224 * 224, 4096).reshape(64, 3, 224, 224)
    )
    assert array.shape == (64, 3, 224, 224)
