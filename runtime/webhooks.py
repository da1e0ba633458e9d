"""Webhook delivery (spec 3.9): event filter, log throttling, retried terminal event.

Everything runs as background tasks on the front's event loop through an async HTTP
client, so a slow or failing receiver never delays a response, a slot or another
prediction. Each prediction's webhooks go out in order through its own small queue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from cog._version import __version__

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("cog.runtime.webhooks")

EVENTS = frozenset({"start", "output", "logs", "completed"})
#: Terminal deliveries are retried this many times after the first attempt.
TERMINAL_RETRIES = 12
RETRY_BASE = 0.1
RETRY_CAP_EXPONENT = 10
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class WebhookSender:
    """One per server: the HTTP client, the auth token and the throttle interval."""

    def __init__(
        self,
        *,
        auth_token: str | None,
        throttle_interval: float,
        retry_base: float = RETRY_BASE,
    ) -> None:
        headers = {"Content-Type": "application/json", "User-Agent": f"cogpy/{__version__}"}
        if auth_token:
            headers["Authorization"] = f"Bearer {auth_token}"
        self.throttle_interval = throttle_interval
        self.retry_base = retry_base
        self._headers = headers
        self._client: httpx.AsyncClient | None = None
        self._building: asyncio.Future[httpx.AsyncClient] | None = None
        self._active: set[asyncio.Task[None]] = set()

    async def client(self) -> httpx.AsyncClient:
        """The HTTP client, built when the first webhook goes out: a server that never
        sends one never loads httpx. Built in a thread: importing it and loading the CA
        bundle take tens of milliseconds, which must not block the serving loop."""
        if self._client is None:
            if self._building is None:
                self._building = asyncio.ensure_future(asyncio.to_thread(self._build))
            self._client = await asyncio.shield(self._building)
        return self._client

    def _build(self) -> httpx.AsyncClient:
        import httpx

        return httpx.AsyncClient(
            headers=self._headers, timeout=httpx.Timeout(30.0), follow_redirects=True
        )

    def notifier(
        self, url: str, events: Iterable[str] | None, trace: dict[str, str]
    ) -> WebhookNotifier:
        return WebhookNotifier(self, url, EVENTS if events is None else frozenset(events), trace)

    def _track(self, task: asyncio.Task[None]) -> None:
        self._active.add(task)
        task.add_done_callback(self._active.discard)

    async def drain(self, timeout: float) -> None:
        """Give in-flight deliveries (terminal retries above all) time to finish, then close."""
        if self._active:
            await asyncio.wait(set(self._active), timeout=timeout)
        for task in list(self._active):
            task.cancel()
        if self._building is not None:
            await (await self._building).aclose()


class WebhookNotifier:
    """The webhook of one prediction: filters, throttles and queues its events."""

    __slots__ = ("_events", "_last_sent", "_queue", "_sender", "_task", "_trace", "url")

    def __init__(
        self, sender: WebhookSender, url: str, events: frozenset[str], trace: dict[str, str]
    ) -> None:
        self._sender = sender
        self.url = url
        self._events = events
        self._trace = trace
        self._last_sent = float("-inf")
        self._queue: deque[tuple[bytes, bool]] = deque()
        self._task: asyncio.Task[None] | None = None

    def wants(self, event: str) -> bool:
        return event in self._events

    def send(self, event: str, payload: Callable[[], bytes]) -> None:
        """Queue `event` unless filtered or throttled; `payload` builds the body only if sent.

        Throttled updates are dropped, not deferred: the next sent event carries the
        accumulated state. `output` and `completed` are never throttled.
        """
        if event not in self._events:
            return
        terminal = event == "completed"
        now = time.monotonic()
        if not terminal and event != "output":
            if now - self._last_sent < self._sender.throttle_interval:
                return
        self._last_sent = now
        self._queue.append((payload(), terminal))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._deliver_all())
            self._sender._track(self._task)

    async def _deliver_all(self) -> None:
        try:
            while self._queue:
                body, terminal = self._queue.popleft()
                await self._deliver(body, TERMINAL_RETRIES if terminal else 0)
        finally:
            self._task = None

    async def _deliver(self, body: bytes, retries: int) -> None:
        sender = self._sender
        client = await sender.client()
        import httpx  # loaded by now, in the thread that built the client

        for attempt in range(retries + 1):
            try:
                response = await client.post(self.url, content=body, headers=self._trace)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # a bad URL must not take the prediction down
                log.warning("webhook %s cannot be sent: %s", self.url, exc)
                return
            else:
                if response.status_code not in _RETRY_STATUSES:
                    if response.status_code >= 400:
                        log.warning("webhook %s answered %s", self.url, response.status_code)
                    return
                problem = f"HTTP {response.status_code}"
            if attempt == retries:
                log.warning(
                    "webhook %s failed after %d attempts: %s", self.url, attempt + 1, problem
                )
                return
            await asyncio.sleep(sender.retry_base * 2 ** min(attempt, RETRY_CAP_EXPONENT))
