"""The load scenarios: a predictor, its schema, the request sent, and the goal it is held to.

Other benchmark modules add scenarios with `register(...)` (the large-array scenarios of
the zero-copy work plug in this way) and are loaded with `--plugin MODULE`.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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
