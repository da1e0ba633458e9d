"""The worker's control thread: cancels and health checks, served while predictions run."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cog.runtime import protocol
from cog.runtime.transport import ChannelClosed, WorkerChannel
from cog.runtime.worker.prediction import error_text

if TYPE_CHECKING:
    import asyncio  # a sync model never loads it


class Control:
    def __init__(
        self,
        channel: WorkerChannel,
        codec: Any,
        runner: Any,
        cancel_run: Callable[[int], None],
        loop: asyncio.AbstractEventLoop | None,
    ) -> None:
        self._channel = channel
        self._codec = codec
        self._runner = runner
        self._cancel_run = cancel_run
        self._loop = loop  # the prediction loop, for an async healthcheck of an async runner
        self._health_lock = threading.Lock()
        self._health_waiting: list[int] | None = None  # tags waiting on the check in flight

    def start(self) -> None:
        threading.Thread(target=self._serve, name="cog-control", daemon=True).start()

    def _serve(self) -> None:
        try:
            self._serve_until_closed()
        except ChannelClosed:
            return

    def _serve_until_closed(self) -> None:
        decode = self._codec.decode
        while True:
            frames = self._channel.recv()
            kind, _, tag, _ = decode(frames[0])
            if kind == protocol.CANCEL:
                self._cancel_run(tag)
            elif kind == protocol.HEALTHCHECK:
                self._healthcheck(tag)

    def _healthcheck(self, tag: int) -> None:
        """Run the user healthcheck on its own thread; requests that arrive while one runs
        share its answer (a stuck check must not pile up threads)."""
        with self._health_lock:
            if self._health_waiting is not None:
                self._health_waiting.append(tag)
                return
            self._health_waiting = [tag]
        threading.Thread(target=self._run_healthcheck, name="cog-healthcheck", daemon=True).start()

    def _run_healthcheck(self) -> None:
        error = self._check()
        with self._health_lock:
            tags, self._health_waiting = self._health_waiting or [], None
        for tag in tags:
            self._channel.send(self._codec.encode(protocol.HEALTH, tag, protocol.Health(error)))

    def _check(self) -> str | None:
        if not self._runner.has_healthcheck:
            return None
        try:
            result = self._runner.healthcheck()
            if inspect.isawaitable(result):
                import asyncio  # only an async healthcheck needs it

                if self._loop is not None and self._loop.is_running():
                    result = asyncio.run_coroutine_threadsafe(_await(result), self._loop).result()
                else:
                    result = asyncio.run(_await(result))
        except BaseException as exc:
            return f"Healthcheck failed: {error_text(exc)}"
        if not result:
            return "Healthcheck failed: user-defined healthcheck returned False"
        return None


async def _await(awaitable: Any) -> Any:
    return await awaitable
