"""Servers started as real processes on loopback, with a real webhook/upload receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.receiver import Receiver
from tests.support.server import ServerProcess, running_server

FIXTURES = Path(__file__).parent / "fixtures"
JSON = {"content-type": "application/json"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture(scope="module")
def module_receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture(scope="module")
def basic(module_receiver: Receiver) -> Iterator[ServerProcess]:
    """The basic fixture, one slot, fast webhooks for the throttle-free tests."""
    with running_server(FIXTURES / "basic") as server:
        yield server
