"""The load scenarios: a predictor, its schema, the request sent, and the goal it is held to.

Other benchmark modules add scenarios with `register(...)` and are loaded with
`--plugin MODULE`. A scenario the reference cannot take (a msgpack body) runs on this
server only, with the reference's rounds of a baseline scenario (the same work, sent as
JSON) as its ratios' denominator.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np

PREDICTORS = Path(__file__).resolve().parent / "predictors"
#: Matches the final status in a JSON response and in an SSE `completed` event.
SUCCEEDED = '"status"%s*:%s*"succeeded"'


@dataclass(frozen=True)
class Request:
    """One HTTP request, sent unchanged on every iteration."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class Goal:
    """What this server must reach against the reference, for the report (never asserted)."""

    min_rps_ratio: float | None = None  # successful req/s, this / reference
    max_p99_ratio: float | None = None  # p99 latency of successful requests, this / reference
    zero_non_2xx: bool = False  # no 409s (or other non-2xx) from this server


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    predictor_dir: Path  # holds predict.py and cog.yaml
    input_schema: dict  # the `Input` component
    output_schema: dict  # the `Output` component
    concurrency: int  # open connections, each one request at a time
    request: Callable[[], Request]
    env: dict[str, str] = field(default_factory=dict)  # what `cog build` would bake in
    streaming: bool = False
    goal: Goal = Goal()
    # Lua pattern a 2xx body must match to count as a success (the prediction succeeded).
    expect: str = SUCCEEDED
    # The servers it runs on: a request the reference cannot take (msgpack) runs on this one.
    servers: tuple[str, ...] = ("cogpy", "reference")
    # For a scenario the reference does not run: the scenario whose reference rounds are
    # the ratios' denominator (the same work, sent the way the reference takes it).
    ratio_baseline: str | None = None
    # The predictor imports numpy, which the reference install lacks: both servers get
    # this environment's numpy (and nothing else from it) on PYTHONPATH.
    numpy: bool = False
    # Seconds the model itself waits per prediction (an `await asyncio.sleep`): the front
    # floor (granian alone, see ceiling.py) waits as long, so it shows what any server
    # built on granian could reach here.
    model_await_s: float = 0.0

    def openapi_schema(self) -> dict:
        """The schema document `cog build` would ship (spec §2.1), written by hand."""
        post: dict = {
            "summary": "Predict",
            "description": "Run a single prediction on the model",
            "operationId": "predict_predictions_post",
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/PredictionRequest"}
                    }
                }
            },
            "responses": {
                "200": {
                    "description": "Successful Response",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/PredictionResponse"}
                        }
                    },
                }
            },
        }
        if self.streaming:
            post["x-cog-streaming"] = True
        return {
            "openapi": "3.0.2",
            "info": {"title": "Cog", "version": "0.1.0"},
            "paths": {"/predictions": {"post": post}},
            "components": {
                "schemas": {
                    "Input": self.input_schema,
                    "Output": self.output_schema,
                    "PredictionRequest": {
                        "title": "PredictionRequest",
                        "type": "object",
                        "properties": {
                            "id": {"title": "Id", "type": "string"},
                            "input": {"$ref": "#/components/schemas/Input"},
                        },
                    },
                    "PredictionResponse": {
                        "title": "PredictionResponse",
                        "type": "object",
                        "properties": {
                            "id": {"title": "Id", "type": "string"},
                            "output": {"$ref": "#/components/schemas/Output"},
                            "status": {"title": "Status", "type": "string"},
                        },
                    },
                }
            },
        }


SCENARIOS: dict[str, Scenario] = {}


def register(scenario: Scenario) -> Scenario:
    """Add a scenario; names are unique."""
    if scenario.name in SCENARIOS:
        raise ValueError(f"scenario {scenario.name!r} is already registered")
    if scenario.ratio_baseline is not None and scenario.ratio_baseline not in SCENARIOS:
        raise ValueError(
            f"scenario {scenario.name!r}: ratio baseline {scenario.ratio_baseline!r} "
            f"is not registered (register it first)"
        )
    SCENARIOS[scenario.name] = scenario
    return scenario


def json_request(input_: dict, *, accept: str = "application/json") -> Request:
    return Request(
        "POST",
        "/predictions",
        {"Content-Type": "application/json", "Accept": accept},
        json.dumps({"input": input_}).encode(),
    )


def _int_input(name: str, default: int) -> dict:
    return {
        "title": "Input",
        "type": "object",
        "properties": {
            name: {"default": default, "title": name.title(), "type": "integer", "x-order": 0}
        },
    }


FILE_SIZE = 4 * 1024 * 1024


def _file_request() -> Request:
    # Random bytes so that nothing on either side can compress or special-case them.
    payload = base64.b64encode(os.urandom(FILE_SIZE)).decode()
    return json_request({"data": f"data:application/octet-stream;base64,{payload}"})


register(
    Scenario(
        name="null-c1",
        description="null sync predictor, 1 connection",
        predictor_dir=PREDICTORS / "null",
        input_schema=_int_input("n", 0),
        output_schema={"title": "Output", "type": "integer"},
        concurrency=1,
        request=lambda: json_request({"n": 1}),
        goal=Goal(min_rps_ratio=2.5, max_p99_ratio=1.0, zero_non_2xx=True),
    )
)
register(
    Scenario(
        name="async-c32",
        description="async predictor (5 ms await), concurrency.max 32, 32 connections",
        predictor_dir=PREDICTORS / "async32",
        input_schema=_int_input("n", 0),
        output_schema={"title": "Output", "type": "integer"},
        concurrency=32,
        request=lambda: json_request({"n": 1}),
        env={"COG_MAX_CONCURRENCY": "32"},
        goal=Goal(min_rps_ratio=5.0, max_p99_ratio=1.0, zero_non_2xx=True),
        model_await_s=0.005,
    )
)
register(
    Scenario(
        name="stream-sse",
        description="64 tokens over server-sent events, 1 connection",
        predictor_dir=PREDICTORS / "stream",
        input_schema=_int_input("tokens", 64),
        output_schema={
            "title": "Output",
            "type": "array",
            "items": {"type": "string"},
            "x-cog-array-type": "iterator",
            "x-cog-array-display": "concatenate",
        },
        concurrency=1,
        request=lambda: json_request({"tokens": 64}, accept="text/event-stream"),
        streaming=True,
        goal=Goal(max_p99_ratio=1.0, zero_non_2xx=True),
    )
)
register(
    Scenario(
        name="file-4mib",
        description="4 MiB file input as a base64 data URL, 1 connection",
        predictor_dir=PREDICTORS / "file",
        input_schema={
            "title": "Input",
            "type": "object",
            "required": ["data"],
            "properties": {
                "data": {"format": "uri", "title": "Data", "type": "string", "x-order": 0}
            },
        },
        output_schema={"title": "Output", "type": "integer"},
        concurrency=1,
        request=_file_request,
        goal=Goal(max_p99_ratio=1.0, zero_non_2xx=True),
    )
)


ARRAY_SIZE = 4 * 1024 * 1024
ARRAY_INPUT = {
    "title": "Input",
    "type": "object",
    "required": ["x"],
    "properties": {"x": {"format": "uri", "title": "X", "type": "string", "x-order": 0}},
}
NDARRAY_INPUT = {
    "title": "Input",
    "type": "object",
    "required": ["x"],
    "properties": {
        "x": {
            "title": "X",
            "type": "array",
            "items": {},
            "x-cog-array-type": "ndarray",
            "x-cog-ndarray": {"dtype": "float32"},
            "x-order": 0,
        }
    },
}


def _npy() -> bytes:
    """A 4 MiB float32 array of random values as `.npy` bytes."""
    out = io.BytesIO()
    np.save(out, np.random.default_rng(0).random(ARRAY_SIZE // 4, dtype=np.float32))
    return out.getvalue()


def _npy_json_request() -> Request:
    payload = base64.b64encode(_npy()).decode()
    return json_request({"x": f"data:application/x-npy;base64,{payload}"})


def _npy_msgpack_request() -> Request:
    # A msgpack `bin` holding the whole .npy payload (docs/zero-copy.md, "msgpack bodies").
    return Request(
        "POST",
        "/predictions",
        {"Content-Type": "application/msgpack", "Accept": "application/json"},
        msgspec.msgpack.encode({"input": {"x": _npy()}}),
    )


register(
    Scenario(
        name="array-4mib-json",
        description="4 MiB float32 array as a .npy data URL in JSON, loaded with numpy, 1 connection",
        predictor_dir=PREDICTORS / "npy",
        input_schema=ARRAY_INPUT,
        output_schema={"title": "Output", "type": "number"},
        concurrency=1,
        request=_npy_json_request,
        numpy=True,
        goal=Goal(max_p99_ratio=1.0, zero_non_2xx=True),
    )
)
register(
    Scenario(
        name="array-4mib-msgpack",
        description=(
            "the same array as a msgpack body to an ndarray input (this server only; "
            "ratios against the reference on array-4mib-json), 1 connection"
        ),
        predictor_dir=PREDICTORS / "ndarray",
        input_schema=NDARRAY_INPUT,
        output_schema={"title": "Output", "type": "number"},
        concurrency=1,
        request=_npy_msgpack_request,
        servers=("cogpy",),
        ratio_baseline="array-4mib-json",
        goal=Goal(max_p99_ratio=1.0, zero_non_2xx=True),
    )
)
