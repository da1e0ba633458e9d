"""Servers with the array fixture, started as real processes on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess, running_server

FIXTURES = Path(__file__).parent / "fixtures"
ARRAYS = FIXTURES / "arrays"
MSGPACK = {"content-type": "application/msgpack"}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    """Shared-memory regions enabled; a small slab so that leaks would show quickly."""
    env = {"COG_SHM_REGIONS": "1", "COG_SLAB_SIZE": str(32 << 20), "COG_QUEUE_SIZE": "4"}
    with running_server(ARRAYS, env=env) as s:
        yield s
