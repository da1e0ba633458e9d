"""Server-sent events of one prediction: a replay buffer and its live subscribers (spec 3.5).

Each event is encoded to its wire bytes once, when published; subscribers share the bytes.
A subscriber that joins late replays the buffer; one that missed evicted events, or falls
more than `LIVE_CAPACITY` events behind, gets an `error` event and its stream ends.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from cog.runtime.front.messages import encode

LIVE_CAPACITY = 1024
MAX_SUBSCRIBERS = 1024
KEEPALIVE_SECONDS = 15.0
KEEPALIVE = b": keep-alive\n\n"


def frame(event: str, data: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + encode(data) + b"\n\n"


class Subscriber:
    """One open SSE response: frames waiting to be written, and whether the stream ended."""

    __slots__ = ("_frames", "_limit", "_wake", "ended")

    def __init__(self, replay: list[bytes] | None = None) -> None:
        self._frames: deque[bytes] = deque(replay or ())
        # replayed frames do not count against the live lag limit
        self._limit = LIVE_CAPACITY + len(self._frames)
        self._wake = asyncio.Event()
        self.ended = False

    def push(self, data: bytes) -> None:
        if self.ended:
            return
        if len(self._frames) >= self._limit:
            skipped = len(self._frames)
            self._frames.clear()
            self._frames.append(
                frame(
                    "error",
                    {"error": "SSE stream lagged; events were dropped", "skipped": skipped},
                )
            )
            self.end()
            return
        self._frames.append(data)
        self._wake.set()

    def end(self) -> None:
        self.ended = True
        self._wake.set()

    async def next(self) -> bytes | None:
        """The next frame; `KEEPALIVE` after 15 quiet seconds; None once the stream is over."""
        while not self._frames:
            if self.ended:
                return None
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), KEEPALIVE_SECONDS)
            except TimeoutError:
                return KEEPALIVE
        return self._frames.popleft()


class EventStream:
    """The published events of one prediction."""

    __slots__ = ("_buffer", "_published", "closed", "subscribers")

    def __init__(self, capacity: int) -> None:
        self._buffer: deque[bytes] | None = deque(maxlen=capacity) if capacity > 0 else None
        self._published = 0
        self.subscribers: set[Subscriber] = set()
        self.closed = False

    def publish(self, event: str, data: Any) -> None:
        encoded = frame(event, data)
        self._published += 1
        if self._buffer is not None:
            self._buffer.append(encoded)
        for subscriber in self.subscribers:
            subscriber.push(encoded)
        if event == "completed":
            self.closed = True
            for subscriber in self.subscribers:
                subscriber.end()

    def subscribe(self) -> Subscriber | None:
        """A new subscriber fed with the replay buffer; None when too many are open."""
        if len(self.subscribers) >= MAX_SUBSCRIBERS:
            return None
        if self._buffer is not None:
            evicted = self._published - len(self._buffer)
            if evicted > 0:
                subscriber = Subscriber()
                subscriber.push(
                    frame(
                        "error",
                        {
                            "error": "SSE stream replay truncated; events were dropped",
                            "skipped": evicted,
                        },
                    )
                )
                subscriber.end()
                return subscriber
        subscriber = Subscriber(list(self._buffer) if self._buffer is not None else None)
        if self.closed:
            subscriber.end()
        else:
            self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> int:
        """Remove a subscriber; returns how many remain."""
        self.subscribers.discard(subscriber)
        return len(self.subscribers)
