"""The OpenAPI 3.0.2 document around the input/output components (spec §2.1, §2.5).

Paths and envelope components follow Cog's current generator, plus the legacy extras
every server here really serves (`PUT` idempotent creation, `/shutdown`, the `prefer`
header, `WebhookEvent` and the legacy request fields).
"""

from __future__ import annotations

from typing import Any

from cog._version import __version__

REF = "#/components/schemas/"

_STATUS = ["starting", "processing", "succeeded", "canceled", "failed"]
_WEBHOOK_EVENTS = ["start", "output", "logs", "completed"]


def ref(name: str) -> dict[str, Any]:
    return {"$ref": REF + name}


def _json(schema: dict[str, Any], description: str = "Successful Response") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_VALIDATION_ERROR_RESPONSE = _json(ref("HTTPValidationError"), "Validation Error")
_PREFER = {
    "name": "prefer",
    "in": "header",
    "required": False,
    "schema": {"title": "Prefer", "type": "string"},
}


def _id_parameter(name: str, title: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"title": title, "type": "string"},
    }


def base_document() -> dict[str, Any]:
    """Paths and components every Cog server has, predictor or not."""
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": __version__},
        "paths": {
            "/": {
                "get": {
                    "summary": "Root",
                    "operationId": "root__get",
                    "responses": {"200": _json({})},
                }
            },
            "/health-check": {
                "get": {
                    "summary": "Healthcheck",
                    "operationId": "healthcheck_health_check_get",
                    "responses": {"200": _json({})},
                }
            },
            "/shutdown": {
                "post": {
                    "summary": "Start Shutdown",
                    "operationId": "start_shutdown_shutdown_post",
                    "responses": {"200": _json({})},
                }
            },
        },
        "components": {
            "schemas": {
                "Status": {
                    "title": "Status",
                    "description": "An enumeration.",
                    "enum": list(_STATUS),
                    "type": "string",
                },
                "WebhookEvent": {
                    "title": "WebhookEvent",
                    "description": "An enumeration.",
                    "enum": list(_WEBHOOK_EVENTS),
                    "type": "string",
                },
                "HTTPValidationError": {
                    "title": "HTTPValidationError",
                    "type": "object",
                    "properties": {
                        "detail": {
                            "title": "Detail",
                            "type": "array",
                            "items": ref("ValidationError"),
                        }
                    },
                },
                "ValidationError": {
                    "title": "ValidationError",
                    "type": "object",
                    "required": ["loc", "msg", "type"],
                    "properties": {
                        "loc": {
                            "title": "Location",
                            "type": "array",
                            "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                        },
                        "msg": {"title": "Message", "type": "string"},
                        "type": {"title": "Error Type", "type": "string"},
                    },
                },
            }
        },
    }


def mode_paths(
    *, training: bool, streaming: bool
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The paths and envelope components of predictions (or trainings)."""
    noun, plural = ("training", "trainings") if training else ("prediction", "predictions")
    word = "Train" if training else "Predict"
    request = "TrainingRequest" if training else "PredictionRequest"
    response = "TrainingResponse" if training else "PredictionResponse"
    input_name, output_name = (
        ("TrainingInput", "TrainingOutput") if training else ("Input", "Output")
    )
    id_name = f"{noun}_id"
    id_title = f"{noun.title()} ID"
    create: dict[str, Any] = {
        "summary": word,
        "description": f"Run a single {noun} on the model",
        "operationId": f"{word.lower()}_{plural}_post",
        "parameters": [dict(_PREFER)],
        "requestBody": {"content": {"application/json": {"schema": ref(request)}}},
        "responses": {"200": _json(ref(response)), "422": _VALIDATION_ERROR_RESPONSE},
    }
    if streaming:
        create["x-cog-streaming"] = True
    paths = {
        f"/{plural}": {"post": create},
        f"/{plural}/{{{id_name}}}": {
            "put": {
                "summary": f"{word} Idempotent",
                "description": f"Run a single {noun} on the model (idempotent creation).",
                "operationId": f"{word.lower()}_idempotent_{plural}__{id_name}__put",
                "parameters": [_id_parameter(id_name, id_title), dict(_PREFER)],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref(request)}},
                },
                "responses": {"200": _json(ref(response)), "422": _VALIDATION_ERROR_RESPONSE},
            }
        },
        f"/{plural}/{{{id_name}}}/cancel": {
            "post": {
                "summary": "Cancel Training" if training else "Cancel",
                "description": f"Cancel a running {noun}",
                "operationId": f"cancel_{plural}__{id_name}__cancel_post",
                "parameters": [_id_parameter(id_name, id_title)],
                "responses": {"200": _json({}), "422": _VALIDATION_ERROR_RESPONSE},
            }
        },
    }
    components = {
        request: _request(request, input_name),
        response: _response(response, input_name, output_name),
    }
    return paths, components


def _request(title: str, input_name: str) -> dict[str, Any]:
    return {
        "title": title,
        "type": "object",
        "properties": {
            "id": {"title": "Id", "type": "string", "nullable": True},
            "input": {**ref(input_name), "nullable": True},
            "webhook": {
                "title": "Webhook",
                "type": "string",
                "format": "uri",
                "minLength": 1,
                "maxLength": 65536,
                "nullable": True,
            },
            "webhook_events_filter": {
                "type": "array",
                "items": ref("WebhookEvent"),
                "default": list(_WEBHOOK_EVENTS),
                "nullable": True,
            },
            "context": {
                "title": "Context",
                "type": "object",
                "additionalProperties": {"type": "string"},
                "nullable": True,
            },
            "created_at": {
                "title": "Created At",
                "type": "string",
                "format": "date-time",
                "nullable": True,
            },
            "output_file_prefix": {
                "title": "Output File Prefix",
                "type": "string",
                "nullable": True,
                "deprecated": True,
            },
        },
    }


def _response(title: str, input_name: str, output_name: str) -> dict[str, Any]:
    timestamp = {"type": "string", "format": "date-time", "nullable": True}
    return {
        "title": title,
        "type": "object",
        "properties": {
            "input": {**ref(input_name), "nullable": True},
            "output": ref(output_name),
            "id": {"title": "Id", "type": "string", "nullable": True},
            "version": {"title": "Version", "type": "string", "nullable": True},
            "created_at": {"title": "Created At", **timestamp},
            "started_at": {"title": "Started At", **timestamp},
            "completed_at": {"title": "Completed At", **timestamp},
            "logs": {"title": "Logs", "type": "string", "default": ""},
            "error": {"title": "Error", "type": "string", "nullable": True},
            "status": {**ref("Status"), "nullable": True},
            "metrics": {
                "title": "Metrics",
                "type": "object",
                "additionalProperties": True,
                "nullable": True,
            },
        },
    }
