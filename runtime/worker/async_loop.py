"""The worker's main loop for async runners: predictions as tasks on one event loop.

The same loop ran the async `setup()`. Up to the advertised number of slots run interleaved;
the front never sends more. Cancel requests from the control thread are handed to the loop
thread, which cancels the run's task (or remembers the cancel if the run has not started).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any

from cog.coercion import prepare_arguments
from cog.runtime import protocol
from cog.runtime.transport import ChannelClosed, WorkerChannel
from cog.runtime.worker.capture import current_tag
from cog.runtime.worker.prediction import Reporter, error_text, final_metrics, remove_downloads
from cog.scope import prediction_scope


class AsyncLoop:
    def __init__(
        self,
        runner: Any,
        channel: WorkerChannel,
        codec: Any,
        reporter: Reporter,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._runner = runner
        self._channel = channel
        self._codec = codec
        self._reporter = reporter
        self._loop = loop
        self._tasks: dict[int, asyncio.Task[None]] = {}  # created
        self._running: dict[int, asyncio.Task[None]] = {}  # body entered: cancel the task
        self._pending_cancels: set[int] = set()
        self._last_started = 0
        self._stopping = False

    def cancel_run(self, tag: int) -> None:
        """From any thread."""
        self._loop.call_soon_threadsafe(self._cancel, tag)

    def _cancel(self, tag: int) -> None:
        task = self._running.get(tag)
        if task is not None:
            task.cancel()
        elif tag in self._tasks or tag > self._last_started:
            # Not started: a task canceled before its first step would never report.
            self._pending_cancels.add(tag)

    def run_forever(self) -> None:
        loop = self._loop
        for fd in self._channel.wait_fds:
            loop.add_reader(fd, self._readable, fd)
        loop.call_soon(self._drain)
        loop.run_forever()

    def _readable(self, fd: int) -> None:
        self._channel.acknowledge(fd)
        self._drain()

    def _drain(self) -> None:
        recv_nowait = self._channel.recv_nowait
        decode = self._codec.decode
        while True:
            try:
                frames = recv_nowait()
            except ChannelClosed:  # the front went away
                self._loop.stop()
                return
            if frames is None:
                return
            kind, _, tag, body = decode(frames[0])
            if kind == protocol.PREDICT:
                self._start(tag, body)
            elif kind == protocol.SHUTDOWN:
                self._stopping = True
                self._stop_when_idle()

    def _start(self, tag: int, msg: protocol.Predict) -> None:
        self._last_started = tag
        task = self._loop.create_task(self._predict(tag, msg))
        self._tasks[tag] = task

    def _stop_when_idle(self) -> None:
        if self._stopping and not self._tasks:
            self._loop.stop()

    async def _predict(self, tag: int, msg: protocol.Predict) -> None:
        runner = self._runner
        reporter = self._reporter
        reporter.router.begin(tag)
        current_tag.set(tag)  # this task's own context
        output: Any = None
        error: str | None = None
        is_iterator = runner.is_generator or runner.is_async_generator
        status = "succeeded"
        downloads: list[Any] = []
        started = time.perf_counter()
        with prediction_scope(msg.context, reporter.metric_sender(tag)) as scope:
            try:
                self._running[tag] = asyncio.current_task()  # type: ignore[assignment]
                if tag in self._pending_cancels:
                    self._pending_cancels.discard(tag)
                    raise asyncio.CancelledError()
                result = runner.method(**prepare_arguments(runner, msg.inputs, downloads=downloads))
                if inspect.isasyncgen(result):
                    is_iterator = True
                    async for item in result:
                        reporter.output(tag, item)
                else:
                    if inspect.isawaitable(result):
                        result = await result
                    if is_iterator or inspect.isgenerator(result):
                        is_iterator = True
                        for item in result:
                            reporter.output(tag, item)
                    else:
                        output = reporter.encode(result, msg.binary)
            except asyncio.CancelledError:
                status = "canceled"
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
            except BaseException as exc:  # SystemExit too: it fails only this prediction
                status = "failed"
                error = error_text(exc)
                reporter.print_traceback(exc)
            finally:
                self._running.pop(tag, None)
            metrics = final_metrics(scope)
        predict_time = time.perf_counter() - started
        if downloads:
            remove_downloads(downloads)
        del self._tasks[tag]
        if self._pending_cancels:  # cancels of runs that are over
            self._pending_cancels = {
                t for t in self._pending_cancels if t in self._tasks or t > self._last_started
            }
        reporter.capture.drain()
        reporter.router.finish(tag)
        reporter.done(tag, status, output, error, metrics, is_iterator, predict_time)
        self._stop_when_idle()
