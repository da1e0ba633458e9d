"""The worker's main loop for sync runners: one prediction at a time, on the main thread."""

from __future__ import annotations

import inspect
import time
from typing import Any

from cog.coercion import prepare_arguments
from cog.exceptions import CancelationException
from cog.runtime import protocol
from cog.runtime.transport import WorkerChannel
from cog.runtime.worker.cancel import SyncCancel
from cog.runtime.worker.capture import current_tag
from cog.runtime.worker.prediction import Reporter, error_text, final_metrics, remove_downloads
from cog.scope import prediction_scope


class SyncLoop:
    def __init__(self, runner: Any, channel: WorkerChannel, codec: Any, reporter: Reporter) -> None:
        self._runner = runner
        self._channel = channel
        self._codec = codec
        self._reporter = reporter
        self.cancel = SyncCancel()

    def cancel_run(self, tag: int) -> None:
        self.cancel.request(tag)

    def run_forever(self) -> None:
        recv = self._channel.recv
        decode = self._codec.decode
        while True:
            frames = recv()
            kind, _, tag, body = decode(frames[0])
            if kind == protocol.PREDICT:
                self._predict(tag, body)
            elif kind == protocol.SHUTDOWN:
                return

    def _predict(self, tag: int, msg: protocol.Predict) -> None:
        runner = self._runner
        reporter = self._reporter
        cancel = self.cancel
        reporter.router.begin(tag)
        token = current_tag.set(tag)
        output: Any = None
        error: str | None = None
        is_iterator = runner.is_generator
        status = "succeeded"
        downloads: list[Any] = []
        started = time.perf_counter()
        with prediction_scope(msg.context, reporter.metric_sender(tag)) as scope:
            try:
                try:
                    cancel.begin(tag)
                    result = runner.method(
                        **prepare_arguments(runner, msg.inputs, downloads=downloads)
                    )
                    if is_iterator or inspect.isgenerator(result):
                        is_iterator = True
                        for item in result:
                            reporter.output(tag, item)
                    else:
                        output = reporter.encode(result, msg.binary)
                finally:
                    cancel.end()  # no cancel signal can raise past this point
            except CancelationException:
                status = "canceled"
            except BaseException as exc:  # SystemExit too: it fails only this prediction
                status = "failed"
                error = error_text(exc)
                reporter.print_traceback(exc)
            metrics = final_metrics(scope)
        predict_time = time.perf_counter() - started
        if downloads:
            remove_downloads(downloads)
        current_tag.reset(token)
        reporter.capture.drain()
        reporter.router.finish(tag)
        reporter.done(tag, status, output, error, metrics, is_iterator, predict_time)
