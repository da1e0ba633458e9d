"""Fixtures for SDK tests: write a model file into a fresh project dir and load it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from cog.loader import Runner, load_runner

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def write_model(tmp_path: Path) -> Callable[..., Path]:
    """Write `source` (dedented) as `tmp_path/<filename>` and return the project dir."""

    def write(source: str, filename: str = "predict.py") -> Path:
        (tmp_path / filename).write_text(textwrap.dedent(source))
        return tmp_path

    return write


@pytest.fixture
def load(write_model: Callable[..., Path]) -> Callable[..., Runner]:
    """Write a model and load it: `load(source, ref="predict.py:Runner", mode="predict")`."""

    def do(source: str, ref: str = "predict.py", mode: str = "predict") -> Runner:
        project = write_model(source, ref.partition(":")[0])
        return load_runner(ref, project, mode=mode)  # type: ignore[arg-type]

    return do
