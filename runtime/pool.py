"""The front's only door to the workers: slots, runs, cancels, health, crash recovery.

`WorkerPool` lives on the front's event loop. It starts worker processes (fresh
interpreters), waits for their setup, hands out slots, sends each prediction to the worker
that owns its slot and resolves `run()` when the worker reports the end. Messages arrive on
the loop through the transport's fd watch; nothing here blocks the loop.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import shutil
import socket
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, Protocol

import msgspec

from cog.runtime import protocol
from cog.runtime.protocol import FileRef
from cog.runtime.supervisor import WorkerProcess, describe_exit
from cog.runtime.transport import front_transport
from cog.shm import DEFAULT_POOL_SIZE, Slab

__all__ = [
    "FileRef",
    "Outcome",
    "PoolSettings",
    "PredictionSink",
    "SetupInfo",
    "Slot",
    "WorkerPool",
]

log = logging.getLogger("cog.runtime.pool")

HEALTHCHECK_TIMEOUT = 5.0
#: After a worker dies, how long messages it sent just before may still be in flight.
_EXIT_GRACE = 0.05
_SHUTDOWN_GRACE = 30.0


@dataclass
class PoolSettings:
    predict_ref: str | None  # "predict.py:Predictor" (COG_PREDICT_TYPE_STUB)
    train_ref: str | None  # COG_TRAIN_TYPE_STUB
    mode: Literal["predict", "train"]
    project_dir: str  # cwd of the workers (/src in images)
    max_concurrency: int | None  # COG_MAX_CONCURRENCY; None -> from @concurrent / 1
    workers: int = 1  # opt-in N processes for CPU-bound sync models
    setup_timeout: float | None = None
    restart_on_crash: bool = True
    #: shared memory for large inputs: segment size, and the most the slab may grow to
    slab_size: int = DEFAULT_POOL_SIZE
    slab_max_size: int = 4 * DEFAULT_POOL_SIZE


class PredictionSink(Protocol):
    """Implemented by the front's prediction record; called on the event loop."""

    def on_started(self) -> None: ...

    def on_log(self, source: str, data: str) -> None: ...

    def on_output(self, item: Any) -> None: ...

    def on_metric(self, name: str, value: Any, mode: str) -> None: ...


@dataclass
class Outcome:
    status: Literal["succeeded", "failed", "canceled"]
    output: Any  # encoded output tree (None for iterators: items went to on_output)
    error: str | None
    metrics: dict[str, Any]  # user metrics (nested by dot path) + "predict_time"
    is_iterator: bool


@dataclass
class SetupInfo:
    started_at: datetime | None = None
    completed_at: datetime | None = None
    status: Literal["starting", "succeeded", "failed"] = "starting"
    logs: str = ""


@dataclass(eq=False)
class Slot:
    """One unit of capacity on one worker, from `acquire()` until its run ends."""

    worker: WorkerProcess
    released: bool = False


@dataclass(eq=False)
class _Run:
    tag: int
    prediction_id: str
    slot: Slot
    sink: PredictionSink
    future: asyncio.Future[Outcome]


State = Literal["STARTING", "READY", "SETUP_FAILED", "DEFUNCT"]


class WorkerPool:
    def __init__(self, settings: PoolSettings) -> None:
        if settings.workers < 1:
            raise ValueError(f"workers must be at least 1, got {settings.workers}")
        self.settings = settings
        self.state: State = "STARTING"
        self.setup = SetupInfo()
        self.schema: dict[str, Any] | None = None
        self.streaming = False
        self.capacity = 0
        self._workers: list[WorkerProcess] = []
        self._by_peer: dict[bytes, WorkerProcess] = {}
        self._runs: dict[int, _Run] = {}
        self._by_id: dict[str, _Run] = {}
        self._health: dict[int, asyncio.Future[str | None]] = {}
        self._health_check: asyncio.Future[str | None] | None = None
        self._setup_shown: WorkerProcess | None = None
        self._tags = itertools.count(1)
        self._codec = protocol.front_codec()
        self._encode = self._codec.encode
        self._transport = front_transport()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        # Large inputs travel through this shared memory; no segment exists before the
        # first one, so a server that never sees one pays nothing.
        self.slab = Slab(0, segment_size=settings.slab_size, max_size=settings.slab_max_size)
        self._slab_peers: dict[WorkerProcess, socket.socket] = {}
        # files written for file-object outputs; removed with the pool, whatever the workers did
        self._output_dir = tempfile.mkdtemp(prefix="cog-outputs-")
        self._config = {
            "output_dir": self._output_dir,
            "predict_ref": settings.predict_ref,
            "train_ref": settings.train_ref,
            "mode": settings.mode,
            "project_dir": settings.project_dir,
            "max_concurrency": settings.max_concurrency,
        }

    # ------------------------------------------------------------------ lifecycle

    def spawn(self) -> None:
        """Start the worker processes now (once); `start` waits for their setup.

        The server calls this before it imports its HTTP side, so that the workers'
        interpreter start-up, imports and setup run meanwhile.
        """
        if self._workers:
            return
        self._loop = asyncio.get_running_loop()
        self._transport.start(self._loop, self._on_message)
        self.setup = SetupInfo(started_at=_now())
        workers = [WorkerProcess(i) for i in range(self.settings.workers)]
        self._workers = workers
        self._setup_shown = workers[0]  # whose setup output `setup.logs` shows as it comes
        for worker in workers:
            self._spawn(worker)

    async def start(self) -> None:
        """Start the workers (unless `spawn` has) and wait until their setup has finished,
        failed or timed out."""
        self.spawn()
        workers = list(self._workers)
        errors = await asyncio.gather(*(self._await_setup(w) for w in workers))
        self._finish_setup(workers, errors)

    async def _start_worker(self, worker: WorkerProcess) -> str | None:
        """Spawn one worker and wait for its setup; the error text, or None."""
        self._spawn(worker)
        return await self._await_setup(worker)

    def _spawn(self, worker: WorkerProcess) -> None:
        assert self._loop is not None
        self._by_peer[worker.main_peer] = worker
        self._by_peer[worker.control_peer] = worker
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.slab.add_peer(ours)
        self._slab_peers[worker] = ours
        try:
            config = dict(self._config, slab_fd=theirs.fileno())
            worker.spawn(
                self._loop, self._transport.address, config, self._on_exit, (theirs.fileno(),)
            )
        finally:
            theirs.close()

    async def _await_setup(self, worker: WorkerProcess) -> str | None:
        """Wait for a spawned worker's setup; the error text, or None."""
        assert worker.ready_future is not None
        timeout = self.settings.setup_timeout
        try:
            ready = await asyncio.wait_for(asyncio.shield(worker.ready_future), timeout)
        except asyncio.TimeoutError:
            worker.kill()
            message = f"Setup timed out after {timeout:g} seconds"
            worker.setup_logs.append(message + "\n")
            return message
        if ready.error is not None:
            return ready.error
        # cancels and health checks must be able to reach it before it counts as ready
        assert worker.control_future is not None
        await worker.control_future
        if not worker.alive:
            return "the worker process died at the end of setup"
        worker.ready = ready
        worker.slots = worker.free = ready.slots
        return None

    def _finish_setup(self, workers: list[WorkerProcess], errors: list[str | None]) -> None:
        failed = next((i for i, e in enumerate(errors) if e is not None), None)
        shown = workers[0] if failed is None else workers[failed]
        self.setup.logs = "".join(shown.setup_logs)
        self.setup.completed_at = _now()
        if failed is not None or self._closing:
            self.setup.status = "failed"
            self.state = "SETUP_FAILED"
            for w in workers:
                w.kill()
            return
        first = workers[0].ready
        assert first is not None
        self.schema = first.schema
        self.streaming = first.streaming
        self.capacity = sum(w.slots for w in workers)
        self.setup.status = "succeeded"
        self.state = "READY"

    async def shutdown(self, grace: float = _SHUTDOWN_GRACE) -> None:
        """Let each worker finish what it runs, then stop it; killed after `grace` seconds,
        its unfinished runs failing."""
        if self._closing:
            return
        self._closing = True
        waits = []
        for w in self._workers:
            if w.alive and w.proc is not None:
                self._transport.send(w.main_peer, self._encode(protocol.SHUTDOWN, 0, None))
                waits.append(asyncio.get_running_loop().run_in_executor(None, w.proc.wait))
        if waits:
            done, pending = await asyncio.wait(waits, timeout=grace)
            if pending:
                for w in self._workers:
                    w.kill()
                await asyncio.wait(pending)
                await asyncio.sleep(_EXIT_GRACE * 2)  # their runs fail (see _after_exit)
        self._transport.close()
        self.slab.close()
        shutil.rmtree(self._output_dir, ignore_errors=True)

    # ------------------------------------------------------------------ slots and runs

    @property
    def free_slots(self) -> int:
        return sum(w.free for w in self._workers if w.accepting)

    def acquire(self) -> Slot | None:
        """A free slot, or None (the front answers 409)."""
        if self.state != "READY":
            return None
        best = None
        for w in self._workers:
            if w.free and w.accepting and (best is None or w.free > best.free):
                best = w
        if best is None:
            return None
        best.free -= 1
        return Slot(best)

    def release(self, slot: Slot) -> None:
        """Give back a slot that will not be run (idempotent; `run` releases its own)."""
        if not slot.released:
            slot.released = True
            if slot.worker.alive:
                slot.worker.free += 1

    async def run(
        self,
        slot: Slot,
        prediction_id: str,
        inputs: dict[str, Any],
        context: dict[str, str],
        sink: PredictionSink,
        binary: bool = False,
    ) -> Outcome:
        """Run one prediction on the slot's worker; the slot is released before this returns.

        `binary`: array outputs come back as `.npy` bytes (for msgpack responses).
        """
        if slot.released:
            raise ValueError("this slot was already used or released; acquire() a new one")
        assert self._loop is not None
        worker = slot.worker
        tag = next(self._tags)
        future: asyncio.Future[Outcome] = self._loop.create_future()
        run = _Run(tag, prediction_id, slot, sink, future)
        dispatched = False
        try:  # until the worker has the run, any failure gives the slot back
            try:
                frame = self._encode(
                    protocol.PREDICT, tag, protocol.Predict(prediction_id, inputs, context, binary)
                )
            except Exception as exc:  # TypeError, ValueError; OverflowError: ints past 64 bits
                return _failed(_unsendable(inputs, exc))
            if not worker.alive or not self._transport.send(worker.main_peer, frame):
                return _failed("the worker is not running")
            self._runs[tag] = run
            self._by_id[prediction_id] = run
            worker.runs[tag] = run
            dispatched = True
        finally:
            if not dispatched:
                self.release(slot)
        sink.on_started()
        try:
            return await future
        except asyncio.CancelledError:
            self.cancel(prediction_id)  # the slot comes back when the worker reports
            raise

    def cancel(self, prediction_id: str) -> bool:
        """Ask the worker to cancel; False if no run has that id. Lands even if the
        prediction has not started in the worker yet."""
        run = self._by_id.get(prediction_id)
        if run is None:
            return False
        self._transport.send(
            run.slot.worker.control_peer, self._encode(protocol.CANCEL, run.tag, None)
        )
        return True

    def _finish(self, run: _Run, outcome: Outcome) -> None:
        del self._runs[run.tag]
        if self._by_id.get(run.prediction_id) is run:
            del self._by_id[run.prediction_id]
        run.slot.worker.runs.pop(run.tag, None)
        self.release(run.slot)
        if not run.future.done():
            run.future.set_result(outcome)

    # ------------------------------------------------------------------ health

    async def healthcheck(self) -> str | None:
        """The user healthcheck: None when fine, else the error text (spec §1.13)."""
        if self._health_check is None or self._health_check.done():
            self._health_check = asyncio.ensure_future(self._run_healthcheck())
        return await asyncio.shield(self._health_check)

    async def _run_healthcheck(self) -> str | None:
        assert self._loop is not None
        waits = []
        for w in self._workers:
            if w.accepting and w.ready is not None and w.ready.has_healthcheck:
                tag = next(self._tags)
                future: asyncio.Future[str | None] = self._loop.create_future()
                self._health[tag] = future
                self._transport.send(w.control_peer, self._encode(protocol.HEALTHCHECK, tag, None))
                waits.append((tag, future))
        if not waits:
            return None
        try:
            async with asyncio.timeout(HEALTHCHECK_TIMEOUT):
                for _, future in waits:
                    error = await future
                    if error is not None:
                        return error
        except TimeoutError:
            return (
                "Healthcheck failed: user-defined healthcheck timed out after "
                f"{HEALTHCHECK_TIMEOUT} seconds"
            )
        finally:
            for tag, _ in waits:
                self._health.pop(tag, None)
        return None

    # ------------------------------------------------------------------ messages

    def _on_message(self, frames: list[Any]) -> None:
        try:
            kind, _, tag, body = self._codec.decode(frames[1])
            if tag:
                run = self._runs.get(tag)
                if run is not None:
                    if kind == protocol.DONE:
                        metrics = body.metrics
                        metrics["predict_time"] = body.predict_time
                        self._finish(
                            run,
                            Outcome(
                                body.status,
                                None if body.is_iterator else body.output,
                                body.error,
                                metrics,
                                body.is_iterator,
                            ),
                        )
                    elif kind == protocol.LOG:
                        run.sink.on_log(body.source, body.data)
                    elif kind == protocol.OUTPUT:
                        run.sink.on_output(body)
                    elif kind == protocol.METRIC:
                        run.sink.on_metric(body.name, body.value, body.mode)
                elif kind == protocol.HEALTH:
                    future = self._health.pop(tag, None)
                    if future is not None and not future.done():
                        future.set_result(body.error)
                return
            worker = self._by_peer.get(frames[0])
            if worker is None:
                return
            if kind == protocol.LOG:
                worker.setup_logs.append(body.data)
                if worker is self._setup_shown:
                    self.setup.logs += body.data
            elif kind == protocol.HELLO:
                if worker.control_future is not None and not worker.control_future.done():
                    worker.control_future.set_result(None)
            elif kind == protocol.READY:
                if worker.ready_future is not None and not worker.ready_future.done():
                    worker.ready_future.set_result(body)
        except Exception:
            log.exception("bad message from worker %r", frames[0])

    # ------------------------------------------------------------------ crashes

    def _on_exit(self, worker: WorkerProcess) -> None:
        assert self._loop is not None
        self._transport.drain()  # what it said before dying comes first
        self._loop.call_later(_EXIT_GRACE, self._after_exit, worker)

    def _after_exit(self, worker: WorkerProcess) -> None:
        self._transport.drain()
        assert worker.returncode is not None
        how = describe_exit(worker.returncode)
        for peer in (worker.main_peer, worker.control_peer):
            self._by_peer.pop(peer, None)
        slab_peer = self._slab_peers.pop(worker, None)
        if slab_peer is not None:
            self.slab.remove_peer(slab_peer)
        worker.free = 0
        if worker.control_future is not None and not worker.control_future.done():
            worker.control_future.set_result(None)
        if worker.ready_future is not None and not worker.ready_future.done():
            message = (
                f"Predictor setup failed for an unknown reason. It might have run out of "
                f"memory? ({how})"
            )
            worker.setup_logs.append(message + "\n")
            worker.ready_future.set_result(protocol.Ready(message, 0, None, False, False, False))
            return
        error = (
            f"Prediction failed: the worker process died ({how}). It might have run out "
            f"of memory or crashed in native code."
        )
        for run in list(worker.runs.values()):
            self._finish(run, _failed(error))
        if self._closing:
            return
        if self.state == "READY":
            self.state = "DEFUNCT"
        log.error("worker %s %s", worker.index, how)
        if self.settings.restart_on_crash and self.state == "DEFUNCT":
            asyncio.ensure_future(self._replace(worker))

    async def _replace(self, dead: WorkerProcess) -> None:
        """A fresh process for a dead one: setup reruns, then the pool is READY again."""
        worker = WorkerProcess(dead.index)
        self._workers[dead.index] = worker
        self._setup_shown = worker
        self.setup = SetupInfo(started_at=_now())
        error = await self._start_worker(worker)
        self.setup.logs = "".join(worker.setup_logs)
        self.setup.completed_at = _now()
        if self._closing:
            worker.kill()
            return
        if error is not None:
            self.setup.status = "failed"
            self.state = "SETUP_FAILED"
            return
        self.setup.status = "succeeded"
        if all(w.accepting for w in self._workers):
            self.capacity = sum(w.slots for w in self._workers)
            self.state = "READY"


def _failed(error: str) -> Outcome:
    return Outcome("failed", None, error, {"predict_time": 0.0}, False)


def _unsendable(inputs: dict[str, Any], exc: Exception) -> str:
    """Why the inputs cannot reach the worker, naming the input at fault when it is found
    (only on this error path: the inputs are encoded once more, one at a time)."""
    if isinstance(exc, OverflowError):
        for name, value in inputs.items():
            try:
                msgspec.msgpack.encode(value)
            except OverflowError:
                return (
                    f"input {name!r} holds an integer outside the 64-bit range: integers must "
                    "be between -2**63 and 2**64-1"
                )
            except Exception:
                continue
        return "an input holds an integer outside the 64-bit range (-2**63 to 2**64-1)"
    return f"inputs cannot be sent to the worker: {exc}"


def _now() -> datetime:
    return datetime.now(timezone.utc)
