"""Worker death fails its predictions clearly and the pool recovers; setup failures stick."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from cog.runtime.pool import PoolSettings, WorkerPool
from tests.integration.workers.conftest import Sink, predict, running_pool, wait_for


@pytest.mark.parametrize(
    "action, expected",
    [("crash", "exit code 7"), ("segfault", "signal 11 (SIGSEGV)")],
)
def test_worker_death_fails_the_prediction_then_the_pool_recovers(project, action, expected):
    async def body():
        async with running_pool(project("basic"), "basic.py:Predictor") as pool:
            first_pid = (await predict(pool, "pid", action="pid")).output
            first_setup = pool.setup.completed_at
            outcome = await predict(pool, "dies", action=action)
            assert outcome.status == "failed"
            assert expected in outcome.error and "worker process died" in outcome.error
            assert pool.state == "DEFUNCT"
            assert pool.acquire() is None  # no predictions while the worker is down
            await wait_for(lambda: pool.state == "READY")
            assert pool.setup.completed_at > first_setup  # setup ran again
            assert "setup on stdout\n" in pool.setup.logs
            assert (await predict(pool, "count", action="count")).output == "1"  # fresh process
            assert (await predict(pool, "pid2", action="pid")).output != first_pid

    asyncio.run(body())


def test_worker_killed_from_outside_mid_prediction(project):
    async def body():
        async with running_pool(project("basic"), "basic.py:Predictor") as pool:
            pid = int((await predict(pool, "pid", action="pid")).output)
            task = asyncio.create_task(predict(pool, "hang", action="hang"))
            await asyncio.sleep(0.3)
            os.kill(pid, signal.SIGKILL)
            outcome = await asyncio.wait_for(task, 30)
            assert outcome.status == "failed"
            assert "signal 9 (SIGKILL)" in outcome.error
            await wait_for(lambda: pool.state == "READY")
            assert (await predict(pool, "again", action="echo", text="x")).output == "x"

    asyncio.run(body())


def test_no_restart_when_disabled(project):
    async def body():
        async with running_pool(
            project("basic"), "basic.py:Predictor", restart_on_crash=False
        ) as pool:
            await predict(pool, "dies", action="crash")
            await asyncio.sleep(0.5)
            assert pool.state == "DEFUNCT"
            assert pool.acquire() is None

    asyncio.run(body())


def test_setup_exception_is_setup_failed_with_traceback(project):
    async def body():
        async with running_pool(project("broken"), "broken.py:Raises") as pool:
            assert pool.state == "SETUP_FAILED"
            assert pool.setup.status == "failed"
            assert pool.setup.completed_at is not None
            assert "about to fail\n" in pool.setup.logs
            assert "Traceback (most recent call last)" in pool.setup.logs
            assert "RuntimeError: weights are missing" in pool.setup.logs
            assert pool.acquire() is None

    asyncio.run(body())


def test_setup_timeout_is_setup_failed(project):
    async def body():
        async with running_pool(project("broken"), "broken.py:Slow", setup_timeout=1.0) as pool:
            assert pool.state == "SETUP_FAILED"
            assert "Setup timed out after 1 seconds" in pool.setup.logs

    asyncio.run(body())


def test_worker_death_during_setup(project):
    async def body():
        async with running_pool(project("broken"), "broken.py:Dies") as pool:
            assert pool.state == "SETUP_FAILED"
            assert "Predictor setup failed for an unknown reason" in pool.setup.logs
            assert "exit code 9" in pool.setup.logs

    asyncio.run(body())


def test_load_error_is_setup_failed_with_the_loader_message(project):
    async def body():
        async with running_pool(project("broken"), "broken.py:Missing") as pool:
            assert pool.state == "SETUP_FAILED"
            assert "Missing" in pool.setup.logs

    asyncio.run(body())


def test_sync_model_cannot_have_concurrency(project):
    async def body():
        async with running_pool(
            project("broken"), "broken.py:SyncConcurrent", max_concurrency=2
        ) as pool:
            assert pool.state == "SETUP_FAILED"
            assert "max_concurrency > 1 requires an async predict function" in pool.setup.logs

    asyncio.run(body())


def test_shutdown_lets_the_running_prediction_finish(project):
    async def body():
        async with running_pool(project("sleepy"), "sleepy.py:Predictor") as pool:
            task = asyncio.create_task(predict(pool, "s", Sink(), seconds=1.0))
            await asyncio.sleep(0.2)
            await pool.shutdown()
            outcome = await asyncio.wait_for(task, 10)
            assert outcome.status == "succeeded"

    asyncio.run(body())


def test_shutdown_kills_a_worker_that_does_not_finish_in_time(project):
    async def body():
        async with running_pool(project("sleepy"), "sleepy.py:Predictor") as pool:
            task = asyncio.create_task(predict(pool, "s", Sink(), seconds=60.0))
            await asyncio.sleep(0.2)
            await pool.shutdown(grace=0.5)
            outcome = await asyncio.wait_for(task, 10)
            assert outcome.status == "failed"
            assert "SIGKILL" in outcome.error

    asyncio.run(body())


def test_death_is_noticed_without_pidfds(project, monkeypatch):
    def no_pidfds(pid, flags=0):
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "pidfd_open", no_pidfds)

    async def body():
        async with running_pool(project("basic"), "basic.py:Predictor") as pool:
            outcome = await predict(pool, "dies", action="crash")
            assert outcome.status == "failed" and "exit code 7" in outcome.error
            await wait_for(lambda: pool.state == "READY")

    asyncio.run(body())


def test_setup_logs_are_visible_while_setup_runs(project, tmp_path):
    async def body():
        directory = project("broken")
        pool = WorkerPool(
            PoolSettings(
                predict_ref="broken.py:Slow",
                train_ref=None,
                mode="predict",
                project_dir=directory,
                max_concurrency=None,
                setup_timeout=30.0,
            )
        )
        start = asyncio.create_task(pool.start())
        await wait_for(lambda: "sleeping through setup\n" in pool.setup.logs)
        assert pool.state == "STARTING" and pool.setup.status == "starting"
        await pool.shutdown(grace=0.2)
        await start
        assert pool.state == "SETUP_FAILED"

    asyncio.run(body())
