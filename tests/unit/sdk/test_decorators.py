"""`@cog.streaming` and `@cog.concurrent` (spec §1.6-1.7)."""

from __future__ import annotations

import pytest

import cog
from cog.decorators import CONCURRENT_ATTR, STREAMING_ATTR


def test_streaming_bare_and_called_keep_the_function():
    def f() -> str:
        return "x"

    assert cog.streaming(f) is f
    assert getattr(f, STREAMING_ATTR) is True

    def g() -> str:
        return "y"

    assert cog.streaming()(g) is g and g() == "y"
    assert getattr(g, STREAMING_ATTR) is True


def test_concurrent_bare_and_with_max():
    def sync() -> str:
        return ""

    async def coro() -> str:
        return ""

    async def agen():
        yield ""

    assert cog.concurrent(sync) is sync and getattr(sync, CONCURRENT_ATTR) == 1
    assert cog.concurrent(max=8)(coro) is coro and coro.__cog_concurrent_max__ == 8  # type: ignore[attr-defined]
    assert cog.concurrent(max=2)(agen).__cog_concurrent_max__ == 2  # type: ignore[attr-defined]
    assert cog.concurrent(max=1)(sync) is sync


@pytest.mark.parametrize("bad", [True, 2.0, "2", None])
def test_concurrent_max_must_be_an_int(bad):
    with pytest.raises(TypeError, match="concurrent max must be an integer"):
        cog.concurrent(max=bad)


@pytest.mark.parametrize("bad", [0, -1])
def test_concurrent_max_at_least_one(bad):
    with pytest.raises(ValueError, match=f"concurrent max must be at least 1, got {bad}"):
        cog.concurrent(max=bad)


def test_concurrent_above_one_needs_async():
    def sync() -> str:
        return ""

    with pytest.raises(
        TypeError, match=r"^concurrent max greater than 1 requires an async function$"
    ):
        cog.concurrent(max=2)(sync)


def test_concurrent_rejects_non_callables():
    with pytest.raises(
        TypeError, match=r"concurrent must be used as @concurrent or @concurrent\(max=...\)"
    ):
        cog.concurrent(3)  # type: ignore[call-overload]
