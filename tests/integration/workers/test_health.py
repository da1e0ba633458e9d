"""The user healthcheck: its answers, its 5 s limit, and running beside a prediction."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.integration.workers.conftest import predict, running_pool


def test_healthcheck_answers(project):
    async def body():
        directory = project("health")
        mode = Path(directory) / "health_mode"
        async with running_pool(directory, "health.py:Predictor") as pool:
            assert await pool.healthcheck() is None
            mode.write_text("false")
            assert await pool.healthcheck() == (
                "Healthcheck failed: user-defined healthcheck returned False"
            )
            mode.write_text("raise")
            assert await pool.healthcheck() == "Healthcheck failed: disk is full"
            mode.write_text("ok")
            assert await pool.healthcheck() is None

    asyncio.run(body())


def test_healthcheck_runs_while_a_prediction_is_in_flight(project):
    async def body():
        async with running_pool(project("health"), "health.py:Predictor") as pool:
            task = asyncio.create_task(predict(pool, "busy", seconds=3.0))
            await asyncio.sleep(0.3)
            assert pool.free_slots == 0
            assert await asyncio.wait_for(pool.healthcheck(), 2.0) is None
            assert not task.done()
            assert (await task).status == "succeeded"

    asyncio.run(body())


def test_healthcheck_times_out_after_5_seconds_and_checks_are_coalesced(project):
    async def body():
        directory = project("health")
        (Path(directory) / "health_mode").write_text("hang")
        async with running_pool(directory, "health.py:Predictor") as pool:
            results = await asyncio.gather(*(pool.healthcheck() for _ in range(3)))
            assert (
                results
                == ["Healthcheck failed: user-defined healthcheck timed out after 5.0 seconds"] * 3
            )
            # the pool keeps serving predictions meanwhile
            assert (await predict(pool, "p")).status == "succeeded"

    asyncio.run(body())


def test_no_healthcheck_defined_is_healthy(project):
    async def body():
        async with running_pool(project("sleepy"), "sleepy.py:Predictor") as pool:
            assert await pool.healthcheck() is None

    asyncio.run(body())
