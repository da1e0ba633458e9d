"""A worker process: load the runner, run setup once, then serve predictions until told to stop.

Started by the front as `python -m cog.runtime.worker '<json settings>'` (a fresh interpreter,
never a fork of the front). It connects two channels to the front: `w<n>` carries predictions
and everything the worker reports, `c<n>` carries cancels and health checks, served by a
thread while the main thread is busy with user code.
"""

from __future__ import annotations

import ctypes
import inspect
import json
import os
import signal
import sys
import traceback
import warnings
from typing import TYPE_CHECKING, Any

from cog.runtime import protocol
from cog.runtime.transport import ChannelClosed, WorkerChannel, finish_worker, worker_channel
from cog.runtime.worker.capture import FdCapture, LogRouter, RoutedStream
from cog.runtime.worker.prediction import Reporter, error_text

if TYPE_CHECKING:
    import asyncio  # loaded for async models only (~20 ms)

_PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    settings: dict[str, Any] = json.loads(argv[0])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a shell is for the front
    _die_with_parent()

    codec = protocol.worker_codec(_slab_view(settings.get("slab_fd")))
    channel = worker_channel(settings["address"], b"w" + settings["peer"].encode())
    control_channel = worker_channel(settings["address"], b"c" + settings["peer"].encode())
    control_channel.send(codec.encode(protocol.HELLO, 0, None))

    def emit(tag: int, source: str, line: str) -> None:
        try:
            channel.send(codec.encode(protocol.LOG, tag, protocol.Log(source, line)))
        except ChannelClosed:  # output of threads still running while the worker exits
            pass

    router = LogRouter(emit)
    capture = FdCapture(router)
    for original in (sys.__stdout__, sys.__stderr__):  # still fds 1/2: unbuffered from now on
        if original is not None:
            original.reconfigure(write_through=True)  # type: ignore[union-attr]
    sys.stdout = RoutedStream(router, 0, capture.real_fds[0], "<stdout>")
    sys.stderr = RoutedStream(router, 1, capture.real_fds[1], "<stderr>")
    reporter = Reporter(channel, codec, router, capture, settings["output_dir"])

    project_dir = settings["project_dir"]
    os.chdir(project_dir)
    if project_dir not in sys.path:
        sys.path.insert(0, project_dir)

    loop: asyncio.AbstractEventLoop | None = None
    try:
        with warnings.catch_warnings():
            # the loader's deprecation notices (Predictor, predict()) belong in the setup logs
            warnings.simplefilter("default", DeprecationWarning)
            runner, ready = _setup(settings)
        if runner.is_async:
            import asyncio

            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
        if runner.has_setup:
            result = runner.setup()
            if loop is not None and inspect.iscoroutine(result):
                loop.run_until_complete(result)  # the loop that will run the predictions
    except BaseException as exc:
        if isinstance(exc, _SetupError):
            print(exc, file=sys.stderr)
        else:
            traceback.print_exception(exc, file=sys.stderr)
        capture.drain()
        router.finish(0)
        channel.send(
            codec.encode(
                protocol.READY, 0, protocol.Ready(error_text(exc), 0, None, False, False, False)
            )
        )
        _exit(1, channel, control_channel)

    capture.drain()
    router.finish(0)
    router.in_setup = False
    main_loop: Any
    if loop is not None:
        from cog.runtime.worker.async_loop import AsyncLoop

        main_loop = AsyncLoop(runner, channel, codec, reporter, loop)
    else:
        from cog.runtime.worker.sync_loop import SyncLoop

        main_loop = SyncLoop(runner, channel, codec, reporter)
    from cog.runtime.worker.control import Control

    Control(control_channel, codec, runner, main_loop.cancel_run, loop).start()
    channel.send(codec.encode(protocol.READY, 0, ready))
    try:
        main_loop.run_forever()
    except ChannelClosed:  # the front went away
        pass
    capture.drain()
    _exit(0, channel, control_channel)


def _exit(code: int, *channels: WorkerChannel) -> None:
    """Exit without running model atexit hooks, once the last messages are out."""
    for channel in channels:
        channel.close()
    finish_worker()
    os._exit(code)


class _SetupError(Exception):
    """A setup problem whose message says it all (no traceback needed)."""


def _setup(settings: dict[str, Any]) -> tuple[Any, protocol.Ready]:
    """Load the runner and describe it; the READY message is sent once setup() has run."""
    from cog.loader import LoadError, load_runner
    from cog.schema import OutputTypeError

    mode = settings["mode"]
    ref = settings["predict_ref"] if mode == "predict" else settings["train_ref"]
    if not ref:
        raise _SetupError(f"no {mode} reference is configured")
    try:
        runner = load_runner(ref, settings["project_dir"], mode=mode)
    except LoadError as exc:
        raise _SetupError(str(exc)) from None
    slots = settings["max_concurrency"] or runner.concurrency_max or 1
    if slots > 1 and not runner.is_async:
        raise _SetupError(f"max_concurrency > 1 requires an async {runner.method_name} function")
    try:
        schema = _schema(settings, runner)
    except (LoadError, OutputTypeError) as exc:
        raise _SetupError(str(exc)) from None
    ready = protocol.Ready(
        None,
        slots,
        schema,
        bool(runner.streaming),
        bool(runner.is_async),
        bool(runner.has_healthcheck),
    )
    return runner, ready


def _schema(settings: dict[str, Any], runner: Any) -> dict[str, Any]:
    """The OpenAPI document of the project: this runner, plus the other mode's if configured."""
    from cog.loader import load_runner
    from cog.schema import openapi_schema

    predict = train = runner
    if settings["mode"] == "predict":
        ref = settings["train_ref"]
        train = load_runner(ref, settings["project_dir"], mode="train") if ref else None
    else:
        ref = settings["predict_ref"]
        predict = load_runner(ref, settings["project_dir"], mode="predict") if ref else None
    return openapi_schema(predict, train)


def _slab_view(fd: int | None) -> Any:
    """The front's shared memory, mapped now so that the first large input pays nothing."""
    if fd is None:
        return None
    from cog.shm import SlabMapping

    return SlabMapping.from_fd(fd).view


def _die_with_parent() -> None:
    """The kernel kills this worker when the front dies, so no orphan keeps a GPU."""
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:
        os._exit(1)
