"""`@cog.streaming` and `@cog.concurrent`: markers the loader reads off the run method."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar, overload

F = TypeVar("F", bound=Callable[..., object])

STREAMING_ATTR = "__cog_streaming__"
CONCURRENT_ATTR = "__cog_concurrent_max__"


@overload
def streaming(fn: F) -> F: ...
@overload
def streaming(fn: None = None) -> Callable[[F], F]: ...
def streaming(fn: F | None = None) -> F | Callable[[F], F]:
    """Mark a run method whose output may be consumed over SSE (bare or called)."""

    def decorate(inner: F) -> F:
        setattr(inner, STREAMING_ATTR, True)
        return inner

    if fn is None:
        return decorate
    return decorate(fn)


@overload
def concurrent(fn: F) -> F: ...
@overload
def concurrent(fn: None = None, *, max: int = 1) -> Callable[[F], F]: ...
def concurrent(fn: F | None = None, *, max: int = 1) -> F | Callable[[F], F]:  # noqa: A002
    """Declare how many predictions an async run method may interleave."""
    if isinstance(max, bool) or not isinstance(max, int):
        raise TypeError(f"concurrent max must be an integer, got {type(max).__name__}")
    if max < 1:
        raise ValueError(f"concurrent max must be at least 1, got {max}")

    def decorate(inner: F) -> F:
        is_async = inspect.iscoroutinefunction(inner) or inspect.isasyncgenfunction(inner)
        if max > 1 and not is_async:
            raise TypeError("concurrent max greater than 1 requires an async function")
        setattr(inner, CONCURRENT_ATTR, max)
        return inner

    if fn is None:
        return decorate
    if not callable(fn):
        raise TypeError("concurrent must be used as @concurrent or @concurrent(max=...)")
    return decorate(fn)
