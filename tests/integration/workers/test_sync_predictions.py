"""Sync models: results, state, logs at every level, metrics, files, failures."""

from __future__ import annotations

import asyncio
import os

from cog.runtime.pool import FileRef, PoolSettings, WorkerPool
from tests.integration.workers.conftest import Sink, predict, running_pool


def test_setup_then_predictions_share_one_instance(project):
    async def body():
        async with running_pool(project("basic"), "basic.py:Predictor") as pool:
            assert pool.state == "READY"
            assert pool.capacity == 1 and pool.free_slots == 1
            assert pool.setup.status == "succeeded"
            assert pool.setup.started_at <= pool.setup.completed_at
            for line in ("setup on stdout\n", "setup on stderr\n", "setup from a subprocess\n"):
                assert line in pool.setup.logs
            assert pool.schema["components"]["schemas"]["Input"]["properties"]["action"]
            assert "/predictions" in pool.schema["paths"]
            assert pool.streaming is False
            sink = Sink()
            outcome = await predict(pool, "p1", sink, action="echo", text="hello")
            assert (outcome.status, outcome.output, outcome.error) == ("succeeded", "hello", None)
            assert sink.started == 1
            assert isinstance(outcome.metrics["predict_time"], float)
            assert pool.free_slots == 1
            counts = [(await predict(pool, f"c{i}", action="count")).output for i in range(3)]
            assert counts == ["2", "3", "4"]  # module globals persist between predictions

    asyncio.run(body())


def test_logs_from_python_fds_subprocesses_and_c(project):
    async def body():
        async with running_pool(project("basic"), "basic.py:Predictor") as pool:
            sink = Sink()
            outcome = await predict(pool, "logs", sink, action="logs")
            assert outcome.status == "succeeded", outcome.error
            out, err = sink.text("stdout"), sink.text("stderr")
            for line in (
                "python stdout\n",
                "raw fd 1\n",
                "child process\n",
                "c printf\n",
                "bytes through the buffer\n",
                "the original stdout\n",
            ):
                assert line in out
            assert out.endswith("partial line")  # the unterminated line is flushed at the end
            assert "python stderr\n" in err and "raw fd 2\n" in err
            assert all(data.count("\n") <= 1 for _, data in sink.logs)  # one line per chunk
            # nothing leaks into the next prediction
            quiet = Sink()
            await predict(pool, "quiet", quiet, action="echo")
            assert quiet.logs == []

    asyncio.run(body())


def test_failure_has_message_and_traceback_in_logs(project):
    async def body():
        async with running_pool(project("basic"), "basic.py:Predictor") as pool:
            sink = Sink()
            outcome = await predict(pool, "bad", sink, action="raise")
            assert outcome.status == "failed"
            assert outcome.error == "this is a value error"
            assert "Traceback (most recent call last)" in sink.text("stderr")
            assert "ValueError: this is a value error" in sink.text("stderr")
            assert (await predict(pool, "after", action="echo")).status == "succeeded"

    asyncio.run(body())


def test_sys_exit_fails_only_that_prediction(project):
    async def body():
        async with running_pool(project("basic"), "basic.py:Predictor") as pool:
            pid = (await predict(pool, "pid1", action="pid")).output
            outcome = await predict(pool, "exit", action="exit")
            assert outcome.status == "failed"
            assert "SystemExit" in outcome.error and "3" in outcome.error
            assert pool.state == "READY"
            assert (await predict(pool, "pid2", action="pid")).output == pid

    asyncio.run(body())


def test_metrics_nested_and_streamed(project):
    async def body():
        async with running_pool(project("basic"), "basic.py:Predictor") as pool:
            sink = Sink()
            outcome = await predict(pool, "m", sink, action="metrics")
            assert outcome.metrics["timing"] == {"inference": 1.5}
            assert outcome.metrics["count"] == 3
            assert outcome.metrics["predict_time"] > 0
            assert ("timing.inference", 1.5, "replace") in sink.metrics
            assert [m for m in sink.metrics if m[0] == "count"] == [
                ("count", 1, "incr"),
                ("count", 2, "incr"),
            ]

    asyncio.run(body())


def test_file_outputs_come_back_as_file_refs(project):
    async def body():
        async with running_pool(project("basic"), "basic.py:FilePredictor") as pool:
            outcome = await predict(pool, "f", kind="path")
            assert outcome.status == "succeeded", outcome.error
            first, second = outcome.output
            assert isinstance(first, FileRef) and isinstance(second, FileRef)
            assert os.path.isabs(first.path) and os.path.isabs(second.path)
            with open(first.path) as f:
                assert f.read() == "hello file"
            with open(second.path, "rb") as f:
                assert f.read() == b"bytes out"

    asyncio.run(body())


def test_generator_streams_each_item(project):
    async def body():
        async with running_pool(project("generator"), "generator.py:Predictor") as pool:
            sink = Sink()
            outcome = await predict(pool, "g", sink, n=4)
            assert outcome.status == "succeeded"
            assert outcome.is_iterator and outcome.output is None
            assert sink.outputs == ["item 0", "item 1", "item 2", "item 3"]
            assert sink.text("stdout") == "".join(f"yielding {i}\n" for i in range(4))
            sink = Sink()
            outcome = await predict(pool, "g2", sink, n=4, fail_at=2)
            assert outcome.status == "failed" and outcome.error == "failed at 2"
            assert sink.outputs == ["item 0", "item 1"]

    asyncio.run(body())


def test_children_left_by_setup_do_not_disturb_the_worker(project):
    async def body():
        async with running_pool(project("forking"), "forking.py:Predictor") as pool:
            assert pool.state == "READY", pool.setup.logs
            assert "hello from a forked child\n" in pool.setup.logs
            assert "setup done\n" in pool.setup.logs
            for i in range(5):
                sink = Sink()
                outcome = await predict(pool, f"p{i}", sink, text=str(i))
                assert outcome.output == str(i)
                assert sink.text("stdout") == f"predicting {i}\n"

    asyncio.run(body())


def test_inputs_reach_the_model_as_the_signature_asks(project, tmp_path):
    async def body():
        image = tmp_path / "photo.txt"
        image.write_text("pixels")
        async with running_pool(project("inputs"), "inputs.py:Predictor") as pool:
            outcome = await predict(pool, "i", image=str(image), scale=2, token="s3cret")
            assert outcome.status == "succeeded", outcome.error
            assert outcome.output == {
                "image_type": "Path",
                "image_text": "pixels",
                "scale_type": "float",
                "token_type": "Secret",
                "token": "s3cret",
            }

    asyncio.run(body())


def test_train_mode_runs_the_trainer_and_describes_both(project):
    async def body():
        directory = project("trainer")
        pool = WorkerPool(
            PoolSettings(
                predict_ref="trainer.py:Predictor",
                train_ref="trainer.py:train",
                mode="train",
                project_dir=directory,
                max_concurrency=None,
            )
        )
        await pool.start()
        try:
            assert pool.state == "READY", pool.setup.logs
            assert "/trainings" in pool.schema["paths"] and "/predictions" in pool.schema["paths"]
            sink = Sink()
            outcome = await predict(pool, "t", sink, steps=3)
            assert outcome.output == "trained 3"
            assert sink.text("stdout") == "training for 3 steps\n"
        finally:
            await pool.shutdown()

    asyncio.run(body())
