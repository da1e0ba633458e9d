"""One prediction's state, as the front sees it: the envelope clients get and the worker's sink.

The worker pool reports progress through the `PredictionSink` methods; each report updates
the record and fans out to the SSE stream and the webhook, when the prediction has them.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from cog.runtime.files import contains_file
from cog.runtime.front.messages import encode

if TYPE_CHECKING:
    from cog.runtime.files import FileStore
    from cog.runtime.front.sse import EventStream
    from cog.runtime.webhooks import WebhookNotifier

TERMINAL = frozenset({"succeeded", "failed", "canceled"})


_second = -1
_second_text = ""


def now_iso() -> str:
    """ISO 8601 UTC with microseconds, like `datetime.isoformat()`, at a fraction of its cost."""
    global _second, _second_text
    now = time.time()
    second = int(now)
    if second != _second:
        _second_text = datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        _second = second
    return f"{_second_text}.{int((now - second) * 1_000_000):06d}+00:00"


class Prediction:
    """A prediction (or training) from creation until it is dropped from the history."""

    __slots__ = (
        "_logs",
        "_output_chain",
        "cancel_requested",
        "completed_at",
        "context",
        "created_at",
        "error",
        "events",
        "fetch",
        "file_prefix",
        "files",
        "id",
        "input",
        "metrics",
        "output",
        "outputs",
        "phase",
        "sse_created",
        "started_at",
        "status",
        "timed_out",
        "trace",
        "webhook",
    )

    def __init__(
        self,
        id: str,
        input: dict[str, Any],
        context: dict[str, str],
        trace: dict[str, str],
        files: FileStore,
        file_prefix: str | None = None,
    ) -> None:
        self.id = id
        self.input = input
        self.context = context
        self.trace = trace
        self.files = files
        #: legacy `output_file_prefix`: files go there instead of to --upload-url
        self.file_prefix = file_prefix
        self.status = "starting"
        self.output: Any = None
        self.outputs: list[Any] = []
        self._logs: list[str] = []
        self.error: str | None = None
        self.metrics: dict[str, Any] = {}
        self.created_at = now_iso()
        self.started_at: str | None = None
        self.completed_at: str | None = None
        self.cancel_requested = False
        self.timed_out = False
        self.fetch: asyncio.Task[Any] | None = None
        #: "queued" -> "fetching" (input files) -> "running" (handed to the pool) -> "done"
        self.phase = "queued"
        self.sse_created = False
        self.events: EventStream | None = None
        self.webhook: WebhookNotifier | None = None
        self._output_chain: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ envelope

    @property
    def logs(self) -> str:
        return "".join(self._logs)

    def envelope(self) -> dict[str, Any]:
        """The response body: the superset of Cog's legacy and current fields (spec 3.4)."""
        return {
            "id": self.id,
            "input": self.input,
            "output": self.outputs if self.output is None and self.outputs else self.output,
            "logs": "".join(self._logs),
            "error": self.error,
            "status": self.status,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "metrics": self.metrics,
            "version": None,
        }

    def body(self) -> bytes:
        return encode(self.envelope())

    # ------------------------------------------------------------------ PredictionSink

    def on_started(self) -> None:
        if self.status != "starting":
            return
        self.status = "processing"
        self.started_at = now_iso()
        if self.events is not None:
            self.events.publish("start", {"id": self.id, "status": "processing"})
        if self.webhook is not None:
            self.webhook.send("start", self.body)

    def on_log(self, source: str, data: str) -> None:
        self._logs.append(data)
        if self.events is not None:
            self.events.publish("log", {"source": source, "data": data})
        if self.webhook is not None:
            self.webhook.send("logs", self.body)

    def on_output(self, item: Any) -> None:
        if self._output_chain is None and not contains_file(item):
            self._publish_output(item)
            return
        # Files in yielded items are published in yield order, without blocking the loop.
        self._output_chain = asyncio.get_running_loop().create_task(
            self._publish_after(self._output_chain, item)
        )

    def on_metric(self, name: str, value: Any, mode: str) -> None:
        if self.events is not None:
            self.events.publish("metric", {"name": name, "value": value, "mode": mode})

    async def _publish_after(self, previous: asyncio.Task[None] | None, item: Any) -> None:
        if previous is not None:
            await previous
        if self.error is not None:
            return
        try:
            item = await self.files.publish_output(item, self.id, self.trace, self.file_prefix)
        except Exception as exc:
            # A failed upload fails the prediction; the error is reported when it ends.
            self.error = str(exc) or type(exc).__name__
            return
        self._publish_output(item)

    def _publish_output(self, item: Any) -> None:
        index = len(self.outputs)
        self.outputs.append(item)
        if self.events is not None:
            self.events.publish("output", {"chunk": item, "index": index})
        if self.webhook is not None:
            self.webhook.send("output", self.body)

    @property
    def publishing(self) -> bool:
        """Whether yielded items' files are still being published."""
        return self._output_chain is not None

    async def outputs_published(self) -> None:
        """Wait until every yielded item's files are published."""
        while self._output_chain is not None:
            chain = self._output_chain
            await chain
            if chain is self._output_chain:
                self._output_chain = None

    # ------------------------------------------------------------------ terminal

    def finish(
        self,
        status: str,
        *,
        output: Any = None,
        error: str | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> None:
        """Move to a terminal state and tell every listener; called exactly once."""
        self.status = status
        self.output = output
        self.error = error
        if metrics is not None:
            self.metrics = metrics
        self.completed_at = now_iso()
        if self.started_at is None:
            self.started_at = self.completed_at
        self.phase = "done"
        if self.events is not None:
            self.events.publish("completed", self.envelope())
        if self.webhook is not None:
            self.webhook.send("completed", self.body)
