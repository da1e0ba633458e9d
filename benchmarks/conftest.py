"""Shared fixtures of the micro benchmarks (pytest-benchmark).

Run them with `make bench` or `python -m benchmarks.compare` (which also checks them
against the saved baseline in benchmarks/baselines/).
"""

from __future__ import annotations

from types import ModuleType

import pytest

from cog._native.select import native


@pytest.fixture(params=["compiled", "pure"])
def frames(request: pytest.FixtureRequest) -> ModuleType:
    """The frame codec, compiled and as its pure-Python twin, so each benchmark runs both."""
    return native("frames", pure=request.param == "pure")
