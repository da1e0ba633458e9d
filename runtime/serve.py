"""Run the server: granian (embedded, RSGI) on this process's event loop, plus the worker pool.

The HTTP port opens at once, so `/health-check` answers STARTING while setup runs. SIGTERM
stops gracefully (running predictions finish) unless `--await-explicit-shutdown`, in which
case only `POST /shutdown` or SIGINT stop the server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import replace
from typing import Any

from cog.runtime.settings import Settings, SettingsError, settings_from

log = logging.getLogger("cog.runtime.serve")

#: Printed once the port is open and setup has ended (succeeded or failed); tests wait for it.
READY_LINE = "cog.runtime: serving on {host}:{port}"
#: How long the event loop's thread may hold the GIL while another thread waits for it.
#: granian hands every request and body to the loop from one thread of its own, which needs
#: the GIL to do it; at Python's default (5 ms) a busy loop could make it wait that long.
#: At 0.5 ms the async-c32 load scenario served 7-24% more requests per second (5 pairs).
GIL_SWITCH_INTERVAL = 0.0005
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m cog.server.http`: settings from flags, environment and ./cog.yaml."""
    try:
        settings = settings_from(sys.argv[1:] if argv is None else argv, os.environ, os.getcwd())
    except SettingsError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return serve(settings)


def serve_project(
    project_dir: str | os.PathLike[str],
    *,
    port: int = 5000,
    host: str = "127.0.0.1",
    upload_url: str | None = None,
    environ: dict[str, str] | None = None,
) -> int:
    """Serve a project directory in this environment (`cog serve --local`); blocks until stopped."""
    env = dict(os.environ if environ is None else environ)
    try:
        settings = settings_from([], env, project_dir)
    except SettingsError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return serve(replace(settings, port=port, host=host, upload_url=upload_url))


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, Cog's default server log format."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(environ: Mapping[str, str]) -> None:
    """`COG_LOG_LEVEL` picks the level; `LOG_FORMAT=console` asks for plain text lines."""
    handler = logging.StreamHandler()
    if environ.get("LOG_FORMAT", "").lower() == "console":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS.get(environ.get("COG_LOG_LEVEL", "info").lower(), logging.INFO))


def serve(settings: Settings) -> int:
    configure_logging(os.environ)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    try:
        return _event_loop_runner()(_serve(settings))
    except KeyboardInterrupt:
        return 0


def _event_loop_runner() -> Callable[[Coroutine[Any, Any, int]], int]:
    """uvloop when installed: its cross-thread wake-ups (granian hands every request and
    body over from its own threads), timers and fd watches cost a fraction of asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


async def _serve(settings: Settings) -> int:
    from cog.runtime.pool import PoolSettings, WorkerPool

    pool = WorkerPool(
        PoolSettings(
            predict_ref=settings.predict_ref,
            train_ref=settings.train_ref,
            mode=settings.mode,
            project_dir=settings.project_dir,
            max_concurrency=settings.max_concurrency,
            workers=settings.workers,
            setup_timeout=settings.setup_timeout,
        )
    )
    # The workers start first: their interpreter start-up, imports and setup run while this
    # process imports the HTTP server and the front.
    pool.spawn()
    from granian.constants import Interfaces
    from granian.server.embed import Server

    from cog.runtime.front import FrontApp
    from cog.runtime.front.app import SchemaError
    from cog.runtime.front.health import touch_ready_file

    try:
        app = FrontApp(settings, pool)
    except SchemaError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        await pool.shutdown(grace=0)
        return 1
    server = Server(
        app,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.RSGI,
        websockets=False,
        log_enabled=False,
        backlog=1024,
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    hard_stop = asyncio.Event()

    def on_sigterm() -> None:
        if settings.await_explicit_shutdown:
            log.info("SIGTERM ignored: --await-explicit-shutdown is set")
            return
        stop.set()

    def on_sigint() -> None:
        if stop.is_set():
            hard_stop.set()
        stop.set()

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    loop.add_signal_handler(signal.SIGINT, on_sigint)

    if not _port_free(settings.host, settings.port):
        print(f"ERROR: Port {settings.port} is already in use", file=sys.stderr)
        await pool.shutdown(grace=0)
        return 1
    server_task = asyncio.ensure_future(server.serve())
    await asyncio.sleep(0)
    if server_task.done():
        await pool.shutdown(grace=0)
        return _bind_failure(server_task, settings)

    async def start_pool() -> None:
        await pool.start()
        if pool.state == "READY" and settings.kubernetes:
            await asyncio.to_thread(touch_ready_file, settings.ready_file)
        print(READY_LINE.format(host=settings.host, port=settings.port), flush=True)

    setup_task = asyncio.ensure_future(start_pool())
    waiters = {
        server_task,
        asyncio.ensure_future(stop.wait()),
        asyncio.ensure_future(app.shutdown_requested.wait()),
    }
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    if server_task.done():
        return _bind_failure(server_task, settings)

    log.info("shutting down: waiting for running predictions")
    drain = asyncio.ensure_future(app.drain())
    await asyncio.wait(
        {drain, asyncio.ensure_future(hard_stop.wait())}, return_when=asyncio.FIRST_COMPLETED
    )
    setup_task.cancel()
    server.stop()
    await asyncio.wait({server_task}, timeout=10)
    await pool.shutdown()
    await app.close()
    for task in waiters:
        task.cancel()
    return 0


def _port_free(host: str, port: int) -> bool:
    """granian binds with SO_REUSEPORT, which would silently share a port already in use."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _bind_failure(task: asyncio.Task[Any], settings: Settings) -> int:
    exc = task.exception() if not task.cancelled() else None
    if exc is not None:
        message = str(exc)
        if "in use" in message.lower() or isinstance(exc, OSError):
            print(f"ERROR: Port {settings.port} is already in use", file=sys.stderr)
        else:
            print(f"ERROR: the HTTP server stopped: {exc}", file=sys.stderr)
    return 1
