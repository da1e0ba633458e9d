"""Micro benchmark of the pool round trip: `WorkerPool.run` -> worker -> back, null model.

This is the part of the load benchmark's per-prediction cost that the worker side owns (no
HTTP). Each round runs BATCH sequential predictions on one event loop; `extra_info` has the
mean per prediction. Both transports (`COG_TRANSPORT`) and both kinds of runner are measured.
Run: `.venv/bin/python -m pytest benchmarks/test_pool_roundtrip.py`.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.load.pool_floor import NoSink
from cog.runtime.pool import PoolSettings, WorkerPool
from cog.runtime.transport import TRANSPORTS

BATCH = 200

NULL_MODEL = textwrap.dedent(
    """
    from cog import BasePredictor

    class Predictor(BasePredictor):
        def predict(self, text: str = "x") -> str:
            return text

    class AsyncPredictor(BasePredictor):
        async def predict(self, text: str = "x") -> str:
            return text
    """
)


@pytest.fixture(params=TRANSPORTS)
def transport(request, monkeypatch) -> str:
    monkeypatch.setenv("COG_TRANSPORT", request.param)
    return request.param


@pytest.fixture(params=["Predictor", "AsyncPredictor"], ids=["sync", "async"])
def pool_and_loop(
    request, transport: str, tmp_path: Path
) -> Iterator[tuple[WorkerPool, asyncio.AbstractEventLoop]]:
    (tmp_path / "predict.py").write_text(NULL_MODEL)
    loop = asyncio.new_event_loop()
    pool = WorkerPool(
        PoolSettings(
            predict_ref=f"predict.py:{request.param}",
            train_ref=None,
            mode="predict",
            project_dir=str(tmp_path),
            max_concurrency=None,
        )
    )
    loop.run_until_complete(pool.start())
    assert pool.state == "READY", pool.setup.logs
    yield pool, loop
    loop.run_until_complete(pool.shutdown())
    loop.close()


def test_pool_roundtrip(benchmark, pool_and_loop):
    pool, loop = pool_and_loop
    sink = NoSink()
    inputs = {"text": "hello"}

    async def batch() -> None:
        for _ in range(BATCH):
            slot = pool.acquire()
            assert slot is not None
            outcome = await pool.run(slot, "bench", inputs, {}, sink)
            assert outcome.output == "hello"

    loop.run_until_complete(batch())  # warm up
    benchmark.pedantic(lambda: loop.run_until_complete(batch()), rounds=20, iterations=1)
    benchmark.extra_info["batch"] = BATCH
    benchmark.extra_info["us_per_prediction"] = benchmark.stats.stats.mean / BATCH * 1e6
    benchmark.extra_info["us_per_prediction_min"] = benchmark.stats.stats.min / BATCH * 1e6
