"""The SSE replay buffer and subscriber limits, without a server."""

from __future__ import annotations

import asyncio
import json

from cog.runtime.front.sse import LIVE_CAPACITY, EventStream, Subscriber


def drain(subscriber: Subscriber) -> list[tuple[str, dict]]:
    async def collect() -> list[bytes]:
        frames = []
        while (frame := await subscriber.next()) is not None:
            frames.append(frame)
        return frames

    out = []
    for frame in asyncio.run(collect()):
        event, data = frame.decode().strip().split("\n")
        out.append((event.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return out


def test_late_subscriber_replays_everything_then_ends_on_completed() -> None:
    stream = EventStream(16)
    stream.publish("start", {"id": "p"})
    stream.publish("output", {"chunk": 1, "index": 0})
    subscriber = stream.subscribe()
    assert subscriber is not None
    stream.publish("completed", {"status": "succeeded"})
    assert [e for e, _ in drain(subscriber)] == ["start", "output", "completed"]


def test_evicted_events_end_a_new_subscriber_with_an_error() -> None:
    stream = EventStream(2)
    for i in range(5):
        stream.publish("log", {"data": str(i)})
    subscriber = stream.subscribe()
    assert subscriber is not None
    assert drain(subscriber) == [
        ("error", {"error": "SSE stream replay truncated; events were dropped", "skipped": 3})
    ]


def test_zero_capacity_means_live_events_only() -> None:
    stream = EventStream(0)
    stream.publish("start", {})
    subscriber = stream.subscribe()
    assert subscriber is not None
    stream.publish("completed", {})
    assert [e for e, _ in drain(subscriber)] == ["completed"]


def test_a_lagging_subscriber_is_cut_off() -> None:
    stream = EventStream(0)
    subscriber = stream.subscribe()
    assert subscriber is not None
    for i in range(LIVE_CAPACITY + 5):
        stream.publish("log", {"data": str(i)})
    events = drain(subscriber)
    assert events[-1][0] == "error"
    assert events[-1][1]["error"] == "SSE stream lagged; events were dropped"
