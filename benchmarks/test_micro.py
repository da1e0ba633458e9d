"""Micro benchmarks of the per-request hot paths: the IPC frame codec (compiled and its
pure twin), input validation at the HTTP edge, input coercion in the worker, schema
generation, and output encoding."""

from __future__ import annotations

import base64
import dataclasses
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import numpy as np
import pytest

from cog.coercion import prepare_arguments, validate_input
from cog.loader import Runner, load_runner
from cog.outputs import encode_output
from cog.schema import openapi_schema

# The header of a prediction request as the front sends it to a worker.
REQUEST_BODY = {
    "id": "pred_18ec044e1c5c0081",
    "input": {"prompt": "a photo of an astronaut riding a horse", "steps": 50, "style": "photo"},
    "context": {"replicate_api_token": "r8_0123456789abcdef"},
    "slot": 3,
}
KIND = 1


def test_frame_encode(benchmark, frames: ModuleType) -> None:
    codec = frames.FrameCodec({KIND: msgspec.msgpack.Decoder()})
    frame = benchmark(codec.encode, KIND, 7, REQUEST_BODY)
    assert codec.decode(frame)[3] == REQUEST_BODY


def test_frame_decode(benchmark, frames: ModuleType) -> None:
    codec = frames.FrameCodec({KIND: msgspec.msgpack.Decoder()})
    frame = bytes(codec.encode(KIND, 7, REQUEST_BODY))
    assert benchmark(codec.decode, frame) == (KIND, 0, 7, REQUEST_BODY)


def test_frame_peek(benchmark, frames: ModuleType) -> None:
    codec = frames.FrameCodec({})
    frame = bytes(codec.encode(KIND, 7, REQUEST_BODY, flags=2))
    assert benchmark(codec.peek, frame) == (KIND, 2, 7)


# The worked example of the schema spec (§2.3a): four inputs, an enum, bounds, a file.
SCHEMA: dict[str, Any] = {
    "components": {
        "schemas": {
            "Input": {
                "title": "Input",
                "type": "object",
                "required": ["prompt"],
                "properties": {
                    "prompt": {
                        "description": "Text",
                        "title": "Prompt",
                        "type": "string",
                        "x-order": 0,
                    },
                    "steps": {
                        "default": 50,
                        "maximum": 100,
                        "minimum": 1,
                        "title": "Steps",
                        "type": "integer",
                        "x-order": 1,
                    },
                    "style": {
                        "allOf": [{"$ref": "#/components/schemas/style"}],
                        "default": "photo",
                        "x-order": 2,
                    },
                    "image": {
                        "default": None,
                        "format": "uri",
                        "nullable": True,
                        "title": "Image",
                        "type": "string",
                        "x-order": 3,
                    },
                },
            },
            "style": {
                "title": "style",
                "description": "An enumeration.",
                "enum": ["photo", "art"],
                "type": "string",
            },
        }
    }
}


def test_validate_input(benchmark) -> None:
    payload = {"prompt": "an astronaut", "steps": 30, "style": "art", "unknown": 1}
    assert benchmark(validate_input, SCHEMA, payload) == {
        "prompt": "an astronaut",
        "steps": 30,
        "style": "art",
        "image": None,
    }


# A model with the input kinds the worker converts: float, enum choice, secret, file path.
PREDICTOR = """
from cog import BasePredictor, Input, Path, Secret


class Predictor(BasePredictor):
    def predict(
        self,
        prompt: str = Input(description="Text"),
        steps: int = Input(default=50, ge=1, le=100),
        scale: float = Input(default=7.5),
        style: str = Input(default="photo", choices=["photo", "art"]),
        token: Secret = Input(default=None),
        image: Path = Input(default=None),
    ) -> str:
        return prompt
"""
PAYLOAD = {"prompt": "an astronaut", "steps": 30, "scale": 7, "style": "art", "token": "r8_x"}
# 48 KiB of image bytes as a data URL, decoded into a temporary file per call.
IMAGE_URL = "data:image/png;base64," + base64.b64encode(bytes(range(256)) * 192).decode()


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    root = tmp_path_factory.mktemp("model")
    (root / "predict.py").write_text(textwrap.dedent(PREDICTOR))
    with pytest.warns(DeprecationWarning):
        return load_runner("predict.py:Predictor", root)


def test_schema_generation(benchmark, runner: Runner) -> None:
    doc = benchmark(openapi_schema, runner)
    assert doc["components"]["schemas"]["Input"]["required"] == ["prompt"]


def test_prepare_arguments_scalars(benchmark, runner: Runner) -> None:
    values = validate_input(openapi_schema(runner), PAYLOAD)
    args = benchmark(prepare_arguments, runner, values)
    assert type(args["scale"]) is float and args["token"].get_secret_value() == "r8_x"


def test_prepare_arguments_data_url_path(benchmark, runner: Runner) -> None:
    values = validate_input(openapi_schema(runner), {**PAYLOAD, "image": IMAGE_URL})
    downloads: list[Path] = []

    def remove_previous() -> None:
        while downloads:
            downloads.pop().unlink(missing_ok=True)

    args = benchmark.pedantic(
        prepare_arguments,
        args=(runner, values),
        kwargs={"downloads": downloads},
        setup=remove_previous,
        rounds=300,
    )
    assert args["image"].suffix == ".png" and args["image"].stat().st_size > 48_000
    remove_previous()


@dataclasses.dataclass
class Detection:
    label: str
    score: float
    box: list[int]


def test_encode_output_objects(benchmark) -> None:
    value = {
        "detections": [
            Detection(f"obj{i}", 0.5 + i / 100, [i, i, i + 10, i + 10]) for i in range(20)
        ],
        "caption": "two cats on a sofa",
    }
    encoded = benchmark(encode_output, value, lambda f: f)
    assert encoded["detections"][3] == {"label": "obj3", "score": 0.53, "box": [3, 3, 13, 13]}


def test_encode_output_numpy(benchmark) -> None:
    value = np.arange(4096, dtype=np.float32).reshape(64, 64)
    encoded = benchmark(encode_output, value, lambda f: f)
    assert len(encoded) == 64 and encoded[1][0] == 64.0


@pytest.mark.parametrize("tokens", [64])
def test_encode_output_token_list(benchmark, tokens: int) -> None:
    value = [f"tok{i} " for i in range(tokens)]
    assert benchmark(encode_output, value, lambda f: f) == value
