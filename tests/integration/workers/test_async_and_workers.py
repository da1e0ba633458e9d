"""Async models on one loop with interleaved predictions, and N worker processes."""

from __future__ import annotations

import asyncio

from tests.integration.workers.conftest import Sink, predict, running_pool


class OrderedSink(Sink):
    """A sink that also records, in one list shared by several, when its stdout arrives."""

    def __init__(self, name: str, order: list[tuple[str, str]]) -> None:
        super().__init__()
        self.name = name
        self.order = order

    def on_log(self, source: str, data: str) -> None:
        super().on_log(source, data)
        if source == "stdout":
            self.order.append((self.name, data))


def test_async_setup_and_predictions_share_the_loop(project):
    async def body():
        async with running_pool(project("async_model"), "async_model.py:Predictor") as pool:
            assert pool.state == "READY"
            assert "async setup\n" in pool.setup.logs
            assert pool.capacity == 4  # from @concurrent(max=4)
            assert (await predict(pool, "loop", name="loop")).output == "True"

    asyncio.run(body())


def test_concurrent_async_predictions_interleave_with_their_own_logs(project):
    async def body():
        async with running_pool(project("async_model"), "async_model.py:Predictor") as pool:
            names = ["a", "b", "c", "d"]
            order: list[tuple[str, str]] = []  # (prediction, stdout text) as they arrive
            sinks = {n: OrderedSink(n, order) for n in names}
            tasks = [
                asyncio.create_task(predict(pool, n, sinks[n], name=n, sleep=0.5, steps=3))
                for n in names
            ]
            await asyncio.sleep(0.05)
            assert pool.free_slots == 0 and pool.acquire() is None
            outcomes = await asyncio.gather(*tasks)
            assert [o.output for o in outcomes] == names
            # interleaved: every prediction printed its first step before any printed its
            # last (run one after another, "a step 2" would come before "b step 0")
            first = max(next(i for i, (m, d) in enumerate(order) if m == n) for n in names)
            last = min(
                max(i for i, (m, d) in enumerate(order) if m == n and "step 2" in d) for n in names
            )
            assert first < last, order
            for n in names:
                assert sinks[n].text("stdout") == "".join(f"{n} step {i}\n" for i in range(3))
                assert sinks[n].text("stderr") == "".join(f"{n} err {i}\n" for i in range(3))
            assert pool.free_slots == 4

    asyncio.run(body())


def test_max_concurrency_setting_overrides_the_decorator(project):
    async def body():
        async with running_pool(
            project("async_model"), "async_model.py:Predictor", max_concurrency=2
        ) as pool:
            assert pool.capacity == 2

    asyncio.run(body())


def test_async_generator_streams(project):
    async def body():
        async with running_pool(project("async_model"), "async_model.py:Streamer") as pool:
            sink = Sink()
            outcome = await predict(pool, "s", sink, n=3)
            assert outcome.status == "succeeded" and outcome.is_iterator
            assert sink.outputs == ["chunk 0", "chunk 1", "chunk 2"]

    asyncio.run(body())


def test_n_workers_run_sync_predictions_in_parallel(project):
    async def body():
        async with running_pool(project("basic"), "basic.py:Predictor", workers=2) as pool:
            assert pool.capacity == 2 and pool.free_slots == 2
            pids = await asyncio.gather(
                predict(pool, "a", action="pid"), predict(pool, "b", action="pid")
            )
            assert len({o.output for o in pids}) == 2  # two processes, two instances

    asyncio.run(body())


def test_one_of_n_workers_crashing_is_replaced(project):
    async def body():
        async with running_pool(project("basic"), "basic.py:Predictor", workers=2) as pool:
            outcome = await predict(pool, "dies", action="crash")
            assert outcome.status == "failed"
            for _ in range(600):
                if pool.state == "READY" and pool.free_slots == 2:
                    break
                await asyncio.sleep(0.05)
            assert pool.state == "READY" and pool.capacity == 2 and pool.free_slots == 2

    asyncio.run(body())
