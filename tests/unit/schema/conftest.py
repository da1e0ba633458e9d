"""Write a model into a fresh project and describe it with `cog.schema`."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cog.schema import schema_for_project


@pytest.fixture
def describe(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """`describe(source, ref="run.py:Runner", train=None)` -> the OpenAPI document."""

    def run(source: str, ref: str = "run.py:Runner", train: str | None = None) -> dict[str, Any]:
        filename = ref.split(":")[0]
        (tmp_path / filename).write_text(textwrap.dedent(source))
        return schema_for_project(tmp_path, ref, train)

    return run
