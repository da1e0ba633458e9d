"""The RSGI application: routing, request handling and the life of each prediction.

One instance per server process. It talks to user code only through `WorkerPool`; every
prediction's state lives in its `Prediction` record, registered by id.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from cog._version import __version__
from cog.coercion import InputValidationError, file_fields, validate_input
from cog.runtime.files import FileStore, InputDownloadError, contains_file
from cog.runtime.front import binary as binary_responses
from cog.runtime.front import messages
from cog.runtime.front.health import health_document
from cog.runtime.front.large_inputs import Held, LargeInputs, check_json_type
from cog.runtime.front.messages import BadRequest, PredictionRequest, decode_request, encode
from cog.runtime.front.prediction import TERMINAL, Prediction
from cog.runtime.front.regions import Regions
from cog.runtime.front.registry import Registry
from cog.runtime.front.sse import EventStream
from cog.runtime.webhooks import EVENTS, WebhookSender

if TYPE_CHECKING:
    from cog.runtime.pool import Slot, WorkerPool
    from cog.runtime.settings import Settings

log = logging.getLogger("cog.runtime.front")

JSON = [("content-type", "application/json")]
SSE = [
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
]
_TRACE_HEADERS = ("traceparent", "tracestate")
#: A sync prediction's connection is watched for a disconnect after one to two periods.
DISCONNECT_WATCH_DELAY = 0.05
#: When every slot is busy, how long granian gets to report clients that already hung up.
HUNG_UP_CHECK = 0.002
#: How long a request waits for a slot held by a prediction whose client hung up.
RECLAIM_TIMEOUT = 1.0


class SchemaError(Exception):
    """The OpenAPI schema file given to the server cannot be read."""


class FrontApp:
    """The granian RSGI target (`__rsgi__`)."""

    def __init__(self, settings: Settings, pool: WorkerPool) -> None:
        self.settings = settings
        self.pool = pool
        self.registry = Registry(settings.history_size)
        self.files = FileStore(upload_url=settings.upload_url, user_agent=settings.user_agent)
        self.webhooks = WebhookSender(
            auth_token=settings.webhook_auth_token, throttle_interval=settings.throttle_interval
        )
        self.component = "TrainingInput" if settings.mode == "train" else "Input"
        self._schema: dict[str, Any] | None = None
        self._schema_body: bytes | None = None
        self._file_fields: dict[str, bool] = {}
        if settings.openapi_schema_path:
            self._use_schema(_read_schema(settings.openapi_schema_path))
        self._index = encode(_index(settings.train_enabled))
        self.regions = Regions(pool.slab, settings.shm_regions)
        self.large = LargeInputs.configured(settings, pool.slab, self.regions, self.schema)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._disconnects = _DisconnectWatches(self)
        #: predictions canceled because their clients hung up, still holding a slot
        self._orphans: set[Prediction] = set()
        self._reclaiming = 0  # requests waiting for an orphan's slot
        self.accepting = True
        #: Set by `POST /shutdown`; the server loop waits on it.
        self.shutdown_requested = asyncio.Event()

    # ------------------------------------------------------------------ schema

    def _use_schema(self, schema: dict[str, Any]) -> None:
        self._schema = schema
        self._schema_body = encode(schema)
        try:
            self._file_fields = file_fields(schema, self.component)
        except ValueError:
            self._file_fields = {}

    def schema(self) -> dict[str, Any] | None:
        if self._schema is None and self.pool.schema is not None:
            self._use_schema(self.pool.schema)
        return self._schema

    # ------------------------------------------------------------------ routing

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return
        try:
            await self._route(scope, protocol, scope.method, scope.path)
        except BadRequest as exc:
            protocol.response_bytes(exc.status, JSON, exc.body)
        except _ClientGone:
            return
        except Exception:
            log.exception("internal error handling %s %s", scope.method, scope.path)
            try:
                protocol.response_bytes(500, JSON, encode({"detail": "Internal Server Error"}))
            except Exception:
                pass  # the response had started, or the client is gone

    async def _route(self, scope: Any, protocol: Any, method: str, path: str) -> None:
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/")
        if path == "/predictions" or (path == "/trainings" and self.settings.train_enabled):
            if method != "POST":
                raise BadRequest(405, messages.METHOD_NOT_ALLOWED)
            await self._create(scope, protocol, path[1:-1], None)
            return
        for prefix in ("/predictions/", "/trainings/"):
            if path.startswith(prefix) and (
                prefix == "/predictions/" or self.settings.train_enabled
            ):
                await self._item(scope, protocol, method, prefix[1:-2], path[len(prefix) :])
                return
        if method == "HEAD":
            method = "GET"  # answered like GET; the server sends no body (RFC 9110 §9.3.2)
        if path == "/health-check" and method == "GET":
            doc = await health_document(self.pool)
            protocol.response_bytes(200, JSON, encode(doc))
        elif path in ("", "/") and method == "GET":
            protocol.response_bytes(200, JSON, self._index)
        elif path == "/openapi.json" and method == "GET":
            self.schema()
            if self._schema_body is None:
                protocol.response_bytes(503, JSON, messages.NO_SCHEMA)
            else:
                protocol.response_bytes(200, JSON, self._schema_body)
        elif path == "/shutdown" and method == "POST":
            protocol.response_bytes(200, JSON, messages.EMPTY_OBJECT)
            self.shutdown_requested.set()
        elif path == "/shm/regions" or path.startswith("/shm/regions/"):
            await self._shm_regions(protocol, method, path[len("/shm/regions/") :])
        elif path in ("/health-check", "/", "/openapi.json", "/shutdown"):
            raise BadRequest(405, messages.METHOD_NOT_ALLOWED)
        else:
            raise BadRequest(404, messages.NOT_FOUND)

    async def _item(self, scope: Any, protocol: Any, method: str, kind: str, rest: str) -> None:
        if "\ufffd" in rest:
            # the server decodes percent-escapes that are not UTF-8 to U+FFFD, so %FF and
            # %FE would name the same prediction
            raise BadRequest(400, messages.ID_NOT_UTF8)
        if rest.endswith("/cancel") and rest.count("/") == 1:
            if method != "POST":
                raise BadRequest(405, messages.METHOD_NOT_ALLOWED)
            prediction = self.registry.in_flight.get(rest[: -len("/cancel")])
            if prediction is None:
                protocol.response_bytes(404, JSON, messages.EMPTY_OBJECT)
                return
            self.cancel(prediction)
            protocol.response_bytes(200, JSON, messages.EMPTY_OBJECT)
        elif "/" in rest or not rest:
            raise BadRequest(404, messages.NOT_FOUND)
        elif method == "PUT":
            await self._create(scope, protocol, kind, rest)
        elif method == "GET":
            prediction = self.registry.lookup(rest)
            if prediction is None:
                body = encode({"detail": f"{kind.capitalize()} {rest} not found"})
                protocol.response_bytes(404, JSON, body)
            else:
                protocol.response_bytes(200, JSON, prediction.body())
        else:
            raise BadRequest(405, messages.METHOD_NOT_ALLOWED)

    # ------------------------------------------------------------------ create

    async def _shm_regions(self, protocol: Any, method: str, name: str) -> None:
        if not name and method == "POST":
            status, doc = self.regions.register(bytes(await protocol()))
        elif name and method == "DELETE":
            status, doc = self.regions.unregister(name)
        else:
            raise BadRequest(405, messages.METHOD_NOT_ALLOWED)
        protocol.response_bytes(status, JSON, encode(doc))

    async def _create_large(
        self, scope: Any, protocol: Any, kind: str, path_id: str | None
    ) -> None:
        """A create whose body may hold large, binary or shared-memory values."""
        request, held = await self.large.read(scope.headers, protocol)
        try:
            await self._create(scope, protocol, kind, path_id, request, held)
        finally:
            if held is not None and not held.adopted:
                held.release()

    async def _create(
        self,
        scope: Any,
        protocol: Any,
        kind: str,
        path_id: str | None,
        request: PredictionRequest | None = None,
        held: Held | None = None,
    ) -> None:
        headers = scope.headers
        if request is None:
            if self.large.wants(headers):
                await self._create_large(scope, protocol, kind, path_id)
                return
            body = await self._read_body(headers, protocol)
            request = decode_request(body)
        if path_id is not None and request.id is not None and request.id != path_id:
            raise BadRequest(
                422,
                messages.detail(
                    ["body", "id"],
                    f"{kind} ID must match the ID supplied in the URL",
                    "value_error",
                ),
            )
        prediction_id = path_id or request.id
        accept = headers.get("accept")
        wants_sse = accept is not None and _accepts_event_stream(accept)
        if wants_sse and kind == "training":
            raise BadRequest(406, messages.TRAINING_NO_STREAMING)

        existing = self.registry.in_flight.get(prediction_id) if prediction_id else None
        if existing is not None:
            # Idempotent create: report the in-flight one, never start a second run.
            if wants_sse and existing.events is not None:
                await self._stream(protocol, existing)
            elif wants_sse:
                raise BadRequest(406, messages.NO_STREAMING)
            else:
                protocol.response_bytes(202, JSON, existing.body())
            return

        if wants_sse and not self.pool.streaming:
            raise BadRequest(406, messages.NO_STREAMING)
        if not self.accepting:
            raise BadRequest(503, messages.SHUTTING_DOWN)
        if self.pool.state != "READY":
            raise BadRequest(503, messages.NOT_READY)
        inputs = self._validate(request)
        worker_inputs = None
        if held is not None:
            worker_inputs, inputs = held.restore(inputs), held.shown(inputs)
        webhook_events = _events_filter(request)
        binary = accept is not None and binary_responses.accepts_msgpack(accept)

        slot = self.pool.acquire()  # a free slot at once: no coroutine for the common case
        if slot is None:
            slot = await self._acquire(protocol)
        if slot is None:
            raise BadRequest(409, messages.AT_CAPACITY)
        if prediction_id and prediction_id in self.registry.in_flight:
            # Only reachable after waiting in the opt-in queue.
            self._release(slot)
            protocol.response_bytes(202, JSON, self.registry.in_flight[prediction_id].body())
            return

        try:  # from here `_execute` owns the slot; a failure before that gives it back
            trace = {name: headers[name] for name in _TRACE_HEADERS if name in headers}
            prediction = Prediction(
                prediction_id or self.registry.new_id(),
                inputs,
                request.context or {},
                trace,
                self.files,
                request.output_file_prefix,
            )
            if self.pool.streaming:
                prediction.events = EventStream(self.settings.stream_history_capacity)
            if request.webhook:
                prediction.webhook = self.webhooks.notifier(request.webhook, webhook_events, trace)
            self.registry.add(prediction)
        except BaseException:
            self._release(slot)
            raise

        run = self._execute(prediction, slot, binary, worker_inputs)
        if held is not None:
            run = held.around(run)  # its shared memory is freed when the prediction ends
        if wants_sse:
            prediction.sse_created = True
            self._background(run)
            await self._stream(protocol, prediction)
        elif headers.get("prefer") == "respond-async":
            protocol.response_bytes(202, JSON, prediction.body())
            self._background(run)
        else:
            self._disconnects.add(prediction, protocol)
            try:
                await run
            except Exception:
                pass  # logged, and the prediction is failed: its envelope says so
            finally:
                self._disconnects.discard(prediction)
            if binary:
                body = binary_responses.body(prediction.envelope())
                protocol.response_bytes(200, binary_responses.HEADERS, body)
            else:
                protocol.response_bytes(200, JSON, prediction.body())

    async def _read_body(self, headers: Any, protocol: Any) -> bytes:
        limit = self.settings.max_body_bytes
        length = headers.get("content-length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                raise BadRequest(
                    400, encode({"detail": f"Invalid Content-Length: {length!r}"})
                ) from None
            if size == 0:
                return b""
            if size > limit:
                raise BadRequest(413, _too_large(limit))
        check_json_type(headers.get("content-type"))
        try:
            if length is not None:
                return bytes(await protocol())
            chunks: list[bytes] = []
            total = 0
            async for chunk in protocol:
                total += len(chunk)
                if total > limit:
                    raise BadRequest(413, _too_large(limit))
                chunks.append(bytes(chunk))
            return b"".join(chunks)
        except BadRequest:
            raise
        except Exception:
            raise _ClientGone() from None

    def _validate(self, request: PredictionRequest) -> dict[str, Any]:
        schema = self.schema()
        payload = request.input
        if schema is None:
            if payload is not None and not isinstance(payload, dict):
                raise BadRequest(
                    422, messages.detail(["body", "input"], "input must be an object", "type_error")
                )
            return payload or {}
        try:
            inputs = validate_input(schema, payload, component=self.component)
        except InputValidationError as exc:
            raise BadRequest(422, encode({"detail": exc.detail})) from None
        if payload and not payload.keys() <= inputs.keys():
            _warn_unknown(payload, inputs)
        if self._file_fields:
            _check_file_urls(inputs, self._file_fields)
        return inputs

    # ------------------------------------------------------------------ slots

    async def _acquire(self, protocol: Any) -> Slot | None:
        """Every slot was busy: reclaim one from a hung-up client, or wait in the opt-in
        queue; None means 409."""
        slot = self.pool.acquire()
        if slot is not None:
            return slot
        if self.settings.queue_size == 0:
            return await self._reclaim()
        if len(self._waiters) >= self.settings.queue_size:
            return None
        loop = asyncio.get_running_loop()
        while slot is None:
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if not self.accepting or self.pool.state != "READY":
                raise BadRequest(503, messages.NOT_READY)
            slot = self.pool.acquire()
        return slot

    async def _reclaim(self) -> Slot | None:
        """Every slot is busy: a slot held by a prediction whose client hung up is as good
        as free (its prediction is being canceled), so wait for one of those, never longer
        than `RECLAIM_TIMEOUT`, rather than answer 409. A closed-loop client whose earlier
        connection dropped mid-prediction thus finds its slot; without orphans, 409 at once."""
        loop = asyncio.get_running_loop()
        check_until = self._disconnects.check_all() + HUNG_UP_CHECK
        deadline = loop.time() + RECLAIM_TIMEOUT
        while True:
            now = loop.time()
            if self._reclaiming < len(self._orphans):
                until = deadline
            elif now < check_until:
                until = check_until  # the watches just started may find hung-up clients
            else:
                return None
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            self._reclaiming += 1
            try:
                await asyncio.wait_for(waiter, max(until - now, 0))
            except TimeoutError:
                pass
            finally:
                self._reclaiming -= 1
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if not self.accepting or self.pool.state != "READY":
                raise BadRequest(503, messages.NOT_READY)
            slot = self.pool.acquire()
            if slot is not None or loop.time() >= deadline:
                return slot

    def orphaned(self, prediction: Prediction) -> None:
        """The prediction's client hung up: cancel it; its slot may be waited for."""
        if prediction.status not in TERMINAL:
            self._orphans.add(prediction)
            self.cancel(prediction)
            self._wake_waiter()

    def _release(self, slot: Slot) -> None:
        self.pool.release(slot)
        self._wake_waiter()

    def _wake_waiter(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    # ------------------------------------------------------------------ running

    async def _execute(
        self,
        prediction: Prediction,
        slot: Slot,
        binary: bool = False,
        worker_inputs: dict[str, Any] | None = None,
    ) -> None:
        """Fetch inputs, run, publish outputs, finish; the slot is free when this returns.

        `worker_inputs`: what the worker gets when it differs from `prediction.input`
        (values in shared memory); `binary`: the response is msgpack.
        """
        tmpdir: str | None = None
        timer: asyncio.TimerHandle | None = None
        ran = False
        try:
            inputs = prediction.input if worker_inputs is None else worker_inputs
            if self._file_fields:
                prediction.phase = "fetching"
                prediction.fetch = asyncio.ensure_future(
                    self.files.fetch_inputs(inputs, self._file_fields, prediction.id)
                )
                try:
                    inputs, tmpdir = await prediction.fetch
                except asyncio.CancelledError:
                    if not prediction.cancel_requested:
                        raise
                    self._finish_early(prediction, slot, "canceled", None)
                    return
                except InputDownloadError as exc:
                    self._finish_early(prediction, slot, "failed", str(exc))
                    return
                finally:
                    prediction.fetch = None
            if prediction.cancel_requested:
                self._finish_early(prediction, slot, "canceled", None)
                return
            prediction.phase = "running"
            timeout = self.settings.predict_timeout
            if timeout is not None:
                timer = asyncio.get_running_loop().call_later(timeout, self._time_out, prediction)
            ran = True
            outcome = await self.pool.run(
                slot, prediction.id, inputs, prediction.context, prediction, binary
            )
            if timer is not None:
                timer.cancel()
            await self._complete(prediction, outcome, binary)
        except BaseException as exc:
            if prediction.status not in TERMINAL:
                if not ran:
                    self._release(slot)
                if isinstance(exc, asyncio.CancelledError):
                    prediction.finish("canceled", metrics={"predict_time": 0.0})
                else:
                    log.exception("prediction %s failed in the front", prediction.id)
                    prediction.finish("failed", error=f"{type(exc).__name__}: {exc}")
                self.registry.finish(prediction)
            raise
        finally:
            if timer is not None:
                timer.cancel()
            self._orphans.discard(prediction)
            if ran:
                self._wake_waiter()
            if tmpdir is not None:
                # removed before a sync response goes out; shielded so a cancel cannot skip it
                await asyncio.shield(self.files.remove_dir(tmpdir))

    async def _complete(self, prediction: Prediction, outcome: Any, binary: bool = False) -> None:
        status, error = outcome.status, outcome.error
        if prediction.timed_out and status == "canceled":
            status = "failed"
            error = (
                f"Prediction exceeded its time limit of {self.settings.predict_timeout:g} s "
                "(COG_PREDICT_TIMEOUT)"
            )
        if prediction.publishing:
            await prediction.outputs_published()
        if outcome.is_iterator:
            output: Any = list(prediction.outputs)
        else:
            output = outcome.output
            if status == "succeeded" and contains_file(output):
                try:
                    if binary and self.files.upload_url is None:
                        output = await binary_responses.inline_files(output)
                    else:
                        output = await self.files.publish_output(
                            output, prediction.id, prediction.trace, prediction.file_prefix
                        )
                except Exception as exc:
                    status, error, output = "failed", str(exc) or type(exc).__name__, None
        if status == "succeeded" and prediction.error is not None:
            status, error = "failed", prediction.error
        prediction.finish(status, output=output, error=error, metrics=outcome.metrics)
        self.registry.finish(prediction)

    def _finish_early(
        self, prediction: Prediction, slot: Slot, status: str, error: str | None
    ) -> None:
        """End a prediction that never reached the pool (canceled or failed input download)."""
        self._release(slot)
        prediction.finish(status, error=error, metrics={"predict_time": 0.0})
        self.registry.finish(prediction)

    def cancel(self, prediction: Prediction) -> None:
        """Cancel wherever the prediction is; repeated cancels are harmless."""
        if prediction.status in TERMINAL:
            return
        prediction.cancel_requested = True
        if prediction.phase == "fetching" and prediction.fetch is not None:
            prediction.fetch.cancel()
        elif prediction.phase == "running":
            self.pool.cancel(prediction.id)

    def _time_out(self, prediction: Prediction) -> None:
        if prediction.status not in TERMINAL:
            prediction.timed_out = True
            self.cancel(prediction)

    def _background(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._forget_task)

    def _forget_task(self, task: asyncio.Task[Any]) -> None:
        """Background errors are logged where they happen; mark them seen and drop the task."""
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()

    # ------------------------------------------------------------------ SSE

    async def _stream(self, protocol: Any, prediction: Prediction) -> None:
        assert prediction.events is not None
        subscriber = prediction.events.subscribe()
        if subscriber is None:
            raise BadRequest(429, messages.TOO_MANY_SUBSCRIBERS)
        transport = protocol.response_stream(200, SSE)
        disconnect = asyncio.ensure_future(protocol.client_disconnect())
        gone = False
        try:
            while True:
                nxt = asyncio.ensure_future(subscriber.next())
                await asyncio.wait((nxt, disconnect), return_when=asyncio.FIRST_COMPLETED)
                if not nxt.done():
                    nxt.cancel()
                    gone = True
                    break
                data = nxt.result()
                if data is None:
                    break
                await transport.send_bytes(data)
        except Exception:
            gone = True
        finally:
            disconnect.cancel()
            remaining = prediction.events.unsubscribe(subscriber)
            if gone and prediction.sse_created and remaining == 0:
                self.orphaned(prediction)

    # ------------------------------------------------------------------ shutdown

    async def drain(self, timeout: float | None = None) -> None:
        """Stop taking predictions and wait for the running ones (graceful shutdown)."""
        self.accepting = False
        for waiter in list(self._waiters):
            if not waiter.done():
                waiter.set_result(None)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self.registry.in_flight and (deadline is None or loop.time() < deadline):
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await self.webhooks.drain(timeout=10.0)
        self.files.close()


class _DisconnectWatches:
    """Cancels sync predictions whose clients hang up.

    Most predictions end long before a disconnect could matter, so a request costs only a
    dict insert; one sweeper starts a watch on each connection that has waited through a
    whole sweep period (`DISCONNECT_WATCH_DELAY`).
    """

    def __init__(self, app: FrontApp) -> None:
        self._app = app
        self._waiting: dict[Prediction, list[Any]] = {}  # [protocol, seen, watch task]
        self._sweeper: asyncio.Task[None] | None = None
        self._last_watch = float("-inf")

    def add(self, prediction: Prediction, protocol: Any) -> None:
        self._waiting[prediction] = [protocol, False, None]
        if self._sweeper is None:
            self._sweeper = asyncio.ensure_future(self._sweep())

    def discard(self, prediction: Prediction) -> None:
        entry = self._waiting.pop(prediction, None)
        if entry is not None and entry[2] is not None:
            entry[2].cancel()

    def check_all(self) -> float:
        """Watch every waiting connection now; the loop time the last watch started."""
        loop = asyncio.get_running_loop()
        for prediction, entry in self._waiting.items():
            if entry[2] is None:
                entry[1] = True
                entry[2] = asyncio.ensure_future(self._watch(entry[0], prediction))
                self._last_watch = loop.time()
        return self._last_watch

    async def _sweep(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(DISCONNECT_WATCH_DELAY)
                for prediction, entry in list(self._waiting.items()):
                    if entry[1] and entry[2] is None:
                        entry[2] = asyncio.ensure_future(self._watch(entry[0], prediction))
                    entry[1] = True
        finally:
            self._sweeper = None

    async def _watch(self, protocol: Any, prediction: Prediction) -> None:
        await protocol.client_disconnect()
        if prediction.status not in TERMINAL:
            log.info("client of sync prediction %s disconnected: canceling", prediction.id)
            self._app.orphaned(prediction)


class _ClientGone(Exception):
    """The client went away while sending its request: nothing to answer."""


def _index(train: bool) -> dict[str, str]:
    doc = {
        "cog_version": __version__,
        "docs_url": "/docs",
        "openapi_url": "/openapi.json",
        "shutdown_url": "/shutdown",
        "healthcheck_url": "/health-check",
        "predictions_url": "/predictions",
        "predictions_idempotent_url": "/predictions/{prediction_id}",
        "predictions_cancel_url": "/predictions/{prediction_id}/cancel",
    }
    if train:
        doc["trainings_url"] = "/trainings"
        doc["trainings_idempotent_url"] = "/trainings/{training_id}"
        doc["trainings_cancel_url"] = "/trainings/{training_id}/cancel"
    return doc


def _read_schema(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            schema = json.load(fh)
    except (OSError, ValueError) as exc:
        raise SchemaError(f"cannot read the OpenAPI schema {path}: {exc}") from None
    if not isinstance(schema, dict):
        raise SchemaError(f"the OpenAPI schema {path} is not a JSON object")
    return schema


def _accepts_event_stream(accept: str) -> bool:
    """Whether any `Accept` entry's media type is text/event-stream (parameters ignored)."""
    return any(
        part.split(";", 1)[0].strip().lower() == "text/event-stream" for part in accept.split(",")
    )


def _events_filter(request: PredictionRequest) -> list[str] | None:
    events = request.webhook_events_filter
    if request.webhook is not None and not request.webhook.startswith(("http://", "https://")):
        raise BadRequest(
            422,
            messages.detail(
                ["body", "webhook"], "webhook must be an http:// or https:// URL", "value_error"
            ),
        )
    if events is None:
        return None
    for i, event in enumerate(events):
        if event not in EVENTS:
            raise BadRequest(
                422,
                messages.detail(
                    ["body", "webhook_events_filter", i],
                    f"{event!r} is not a webhook event; allowed: {', '.join(sorted(EVENTS))}",
                    "value_error",
                ),
            )
    return events


def _check_file_urls(inputs: dict[str, Any], fields: dict[str, bool]) -> None:
    """File inputs must be http(s) or data URLs: a bare path would let a client make the
    model read any file on the server."""
    errors = []
    for name, is_list in fields.items():
        value = inputs.get(name)
        values = value if is_list and isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and not item.startswith(("http://", "https://", "data:")):
                scheme = item.split(":", 1)[0] if "://" in item else ""
                errors.append(
                    {
                        "loc": ["body", "input", name],
                        "msg": f"{scheme!r} is not a valid URL scheme. 'data', 'http', or "
                        "'https' is supported.",
                        "type": "value_error",
                    }
                )
                break
    if errors:
        raise BadRequest(422, encode({"detail": errors}))


def _warn_unknown(payload: dict[str, Any], inputs: dict[str, Any]) -> None:
    """Unknown input keys are dropped, never a 422 (spec 3.6); the server log says which."""
    unknown = ", ".join(repr(k) for k in payload if k not in inputs)
    valid = ", ".join(repr(k) for k in inputs) or "none"
    log.warning("dropped unknown input(s) %s; valid inputs are: %s", unknown, valid)


def _too_large(limit: int) -> bytes:
    return encode({"detail": f"Request body is larger than the limit of {limit} bytes"})
