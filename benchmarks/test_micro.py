"""Micro benchmarks of the per-request hot paths: the IPC frame codec (compiled and its
pure twin), input validation at the HTTP edge, and output encoding."""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any

import msgspec
import numpy as np
import pytest

from cog.coercion import validate_input
from cog.outputs import encode_output

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
