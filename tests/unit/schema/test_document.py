"""The OpenAPI document around the components (spec §2.1, §2.2, §2.3a, §2.5)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import cog
from cog.schema import openapi_schema

Describe = Callable[..., dict[str, Any]]

WORKED_EXAMPLE = """
from typing import Optional

from cog import BaseRunner, Input, Path


class Runner(BaseRunner):
    def run(
        self,
        prompt: str = Input(description="Text"),
        steps: int = Input(default=50, ge=1, le=100),
        style: str = Input(default="photo", choices=["photo", "art"]),
        image: Optional[Path] = Input(default=None),
    ) -> list[Path]:
        return []
"""


def walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_worked_example(describe: Describe) -> None:
    schemas = describe(WORKED_EXAMPLE)["components"]["schemas"]
    assert schemas["Input"] == {
        "title": "Input",
        "type": "object",
        "required": ["prompt"],
        "properties": {
            "prompt": {"description": "Text", "title": "Prompt", "type": "string", "x-order": 0},
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
            # Cog 0.16 (and this generator) leave out a None default; see docs/schema.md
            "image": {
                "format": "uri",
                "nullable": True,
                "title": "Image",
                "type": "string",
                "x-order": 3,
            },
        },
    }
    assert schemas["style"] == {
        "title": "style",
        "description": "An enumeration.",
        "enum": ["photo", "art"],
        "type": "string",
    }
    assert schemas["Output"] == {
        "title": "Output",
        "type": "array",
        "items": {"type": "string", "format": "uri"},
    }


def test_skeleton(describe: Describe) -> None:
    doc = describe(WORKED_EXAMPLE)
    assert doc["openapi"] == "3.0.2"
    assert doc["info"] == {"title": "Cog", "version": cog.__version__}
    paths = doc["paths"]
    assert paths["/"]["get"]["operationId"] == "root__get"
    assert paths["/health-check"]["get"]["operationId"] == "healthcheck_health_check_get"
    create = paths["/predictions"]["post"]
    assert create["summary"] == "Predict"
    assert create["description"] == "Run a single prediction on the model"
    assert create["operationId"] == "predict_predictions_post"
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PredictionRequest"
    }
    responses = create["responses"]
    assert responses["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PredictionResponse"
    }
    assert responses["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HTTPValidationError"
    }
    cancel = paths["/predictions/{prediction_id}/cancel"]["post"]
    assert cancel["operationId"] == "cancel_predictions__prediction_id__cancel_post"
    assert cancel["parameters"][0]["in"] == "path"
    assert cancel["parameters"][0]["required"] is True
    # legacy extras the server really serves
    assert "put" in paths["/predictions/{prediction_id}"]
    assert "post" in paths["/shutdown"]
    assert not any(p.startswith("/trainings") for p in paths)


def test_envelope_components(describe: Describe) -> None:
    schemas = describe(WORKED_EXAMPLE)["components"]["schemas"]
    assert schemas["Status"] == {
        "title": "Status",
        "description": "An enumeration.",
        "enum": ["starting", "processing", "succeeded", "canceled", "failed"],
        "type": "string",
    }
    request = schemas["PredictionRequest"]["properties"]
    assert request["id"]["title"] == "Id" and request["id"]["type"] == "string"
    assert request["input"]["$ref"] == "#/components/schemas/Input"
    assert set(request) >= {"webhook", "webhook_events_filter", "context", "created_at"}
    assert schemas["WebhookEvent"]["enum"] == ["start", "output", "logs", "completed"]
    response = schemas["PredictionResponse"]["properties"]
    assert response["output"] == {"$ref": "#/components/schemas/Output"}
    for key in ("created_at", "started_at", "completed_at"):
        assert response[key]["format"] == "date-time"
    assert set(response) == {
        "input",
        "output",
        "id",
        "version",
        "created_at",
        "started_at",
        "completed_at",
        "logs",
        "error",
        "status",
        "metrics",
    }
    validation = schemas["ValidationError"]
    assert validation["required"] == ["loc", "msg", "type"]
    assert validation["properties"]["loc"]["items"] == {
        "anyOf": [{"type": "string"}, {"type": "integer"}]
    }
    assert schemas["HTTPValidationError"]["properties"]["detail"]["items"] == {
        "$ref": "#/components/schemas/ValidationError"
    }


def test_openapi_3_0_conventions(describe: Describe) -> None:
    doc = describe(WORKED_EXAMPLE)
    for node in walk(doc):
        assert node.get("type") != "null", node
        if "$ref" in node:
            assert "title" not in node, node
        for ref in [node.get("$ref")] if "$ref" in node else []:
            assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"], ref
    json.dumps(doc)  # a plain JSON document


def test_training_document_and_merge(describe: Describe, tmp_path: Any) -> None:
    (tmp_path / "train.py").write_text(
        "from cog import Input, Path\n\n\n"
        "def train(style: str = Input(default='x', choices=['x', 'y', 'z'])) -> Path:\n"
        "    return Path('w')\n"
    )
    doc = describe(WORKED_EXAMPLE, train="train.py:train")
    schemas = doc["components"]["schemas"]
    create = doc["paths"]["/trainings"]["post"]
    assert create["operationId"] == "train_trainings_post"
    assert create["summary"] == "Train"
    assert create["description"] == "Run a single training on the model"
    cancel = doc["paths"]["/trainings/{training_id}/cancel"]["post"]
    assert cancel["operationId"] == "cancel_trainings__training_id__cancel_post"
    assert schemas["TrainingRequest"]["properties"]["input"]["$ref"] == (
        "#/components/schemas/TrainingInput"
    )
    assert schemas["TrainingResponse"]["properties"]["output"] == {
        "$ref": "#/components/schemas/TrainingOutput"
    }
    # both define an enum component `style`: the predictor's wins
    assert schemas["style"]["enum"] == ["photo", "art"]
    assert schemas["Input"]["properties"]["style"]["default"] == "photo"


def test_train_only_document(describe: Describe, tmp_path: Any) -> None:
    from cog.loader import load_runner

    (tmp_path / "train.py").write_text(
        "from cog import Path\n\n\ndef train(n: int) -> Path:\n    return Path('w')\n"
    )
    doc = openapi_schema(None, load_runner("train.py:train", tmp_path, mode="train"))
    assert "Input" not in doc["components"]["schemas"]
    assert doc["components"]["schemas"]["TrainingInput"]["required"] == ["n"]
    assert "/predictions" not in doc["paths"]
