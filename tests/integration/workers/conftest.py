"""Real worker pools over real worker processes, for the worker-side tests."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from cog.runtime.pool import Outcome, PoolSettings, WorkerPool

MODELS = Path(__file__).parent / "models"


class Sink:
    """Records what the pool reports about one prediction."""

    def __init__(self) -> None:
        self.started = 0
        self.logs: list[tuple[str, str]] = []
        self.outputs: list[Any] = []
        self.metrics: list[tuple[str, Any, str]] = []

    def on_started(self) -> None:
        self.started += 1

    def on_log(self, source: str, data: str) -> None:
        self.logs.append((source, data))

    def on_output(self, item: Any) -> None:
        self.outputs.append(item)

    def on_metric(self, name: str, value: Any, mode: str) -> None:
        self.metrics.append((name, value, mode))

    def text(self, source: str | None = None) -> str:
        return "".join(d for s, d in self.logs if source is None or s == source)


async def predict(
    pool: WorkerPool, prediction_id: str, sink: Sink | None = None, **inputs: Any
) -> Outcome:
    slot = pool.acquire()
    assert slot is not None, f"no free slot (state {pool.state})"
    return await pool.run(slot, prediction_id, inputs, {}, sink or Sink())


async def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def project(tmp_path: Path) -> Callable[[str], str]:
    """Copy a model file from models/ into a fresh project directory."""

    def make(name: str) -> str:
        shutil.copy(MODELS / f"{name}.py", tmp_path / f"{name}.py")
        return str(tmp_path)

    return make


@asynccontextmanager
async def running_pool(
    project_dir: str, ref: str, *, mode: str = "predict", **settings: Any
) -> AsyncIterator[WorkerPool]:
    pool = WorkerPool(
        PoolSettings(
            predict_ref=ref if mode == "predict" else None,
            train_ref=ref if mode == "train" else None,
            mode=mode,  # type: ignore[arg-type]
            project_dir=project_dir,
            max_concurrency=settings.pop("max_concurrency", None),
            **settings,
        )
    )
    try:
        await asyncio.wait_for(pool.start(), 120)
        yield pool
    finally:
        await asyncio.wait_for(pool.shutdown(), 60)
