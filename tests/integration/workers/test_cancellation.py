"""Cancellation: lands in the running code, only there, and even before the start."""

from __future__ import annotations

import asyncio

from tests.integration.workers.conftest import Sink, predict, running_pool, wait_for


def test_sync_cancel_interrupts_blocking_code(project):
    async def body():
        async with running_pool(project("sleepy"), "sleepy.py:Predictor") as pool:
            sink = Sink()
            task = asyncio.create_task(predict(pool, "s1", sink, seconds=60.0))
            await asyncio.sleep(0.3)
            assert pool.cancel("s1") is True
            outcome = await asyncio.wait_for(task, 30)
            assert outcome.status == "canceled"
            assert outcome.error is None
            assert "predict_time" in outcome.metrics
            assert pool.free_slots == 1
            assert pool.cancel("s1") is False  # finished ids are unknown
            assert pool.cancel("never-seen") is False

    asyncio.run(body())


def test_repeated_cancels_never_leak_into_the_next_prediction(project):
    async def body():
        async with running_pool(project("sleepy"), "sleepy.py:Predictor") as pool:
            for i in range(100):
                task = asyncio.create_task(predict(pool, f"c{i}", seconds=60.0))
                await asyncio.sleep(0.002 * (i % 5))  # before, at and after the start
                pool.cancel(f"c{i}")
                pool.cancel(f"c{i}")  # repeated cancels are harmless
                assert (await asyncio.wait_for(task, 30)).status == "canceled"
                # a short prediction right after must not see a late cancel
                outcome = await predict(pool, f"ok{i}", seconds=0.001)
                assert outcome.status == "succeeded", (i, outcome)
            # cancels that beat the start never reach the model; the others raised inside it
            assert 0 < int(outcome.output.rsplit("=", 1)[1]) <= 100

    asyncio.run(body())


def test_cancel_sent_before_the_worker_starts_still_lands(project):
    async def body():
        async with running_pool(project("sleepy"), "sleepy.py:Predictor") as pool:
            for i in range(20):
                slot = pool.acquire()
                task = asyncio.create_task(
                    pool.run(slot, f"early{i}", {"seconds": 60.0}, {}, Sink())
                )
                await asyncio.sleep(0)  # the request is sent; cancel follows at once
                assert pool.cancel(f"early{i}")
                assert (await asyncio.wait_for(task, 30)).status == "canceled"

    asyncio.run(body())


def test_async_cancel_cancels_the_task_and_the_model_can_clean_up(project):
    async def body():
        async with running_pool(project("async_model"), "async_model.py:Predictor") as pool:
            sink = Sink()
            task = asyncio.create_task(predict(pool, "a1", sink, name="slow", sleep=30.0))
            await wait_for(lambda: "slow step 0\n" in sink.text("stdout"))
            assert pool.cancel("a1")
            outcome = await asyncio.wait_for(task, 30)
            assert outcome.status == "canceled"
            assert "slow canceled\n" in sink.text("stdout")
            # the model's finally ran; the runtime's own code after it was not interrupted
            assert (await predict(pool, "n", name="cleanups")).output == "1"
            early = []
            for i in range(pool.capacity):
                slot = pool.acquire()
                t = asyncio.create_task(
                    pool.run(slot, f"e{i}", {"name": "x", "sleep": 30.0}, {}, Sink())
                )
                await asyncio.sleep(0)
                pool.cancel(f"e{i}")
                early.append(t)
            outcomes = await asyncio.wait_for(asyncio.gather(*early), 30)
            assert [o.status for o in outcomes] == ["canceled"] * pool.capacity
            assert (await predict(pool, "after", name="after", sleep=0.0)).status == "succeeded"

    asyncio.run(body())
