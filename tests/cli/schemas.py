"""OpenAPI documents shaped like the ones Cog generates, for input/output tests."""

from __future__ import annotations

from typing import Any


def document(
    properties: dict[str, Any],
    required: list[str] | None = None,
    output: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    for order, prop in enumerate(properties.values()):
        prop.setdefault("x-order", order)
    schemas: dict[str, Any] = {
        "Input": {"type": "object", "title": "Input", "properties": properties},
        "Output": {"title": "Output", **(output or {"type": "string"})},
        **(extra or {}),
    }
    if required:
        schemas["Input"]["required"] = required
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": "0.1.0"},
        "components": {"schemas": schemas},
    }


MIXED = document(
    {
        "text": {"type": "string", "title": "Text"},
        "count": {"type": "integer", "title": "Count", "default": 1},
        "scale": {"type": "number", "title": "Scale", "default": 1.5},
        "flag": {"type": "boolean", "title": "Flag", "default": False},
        "image": {"type": "string", "format": "uri", "title": "Image", "nullable": True},
        "words": {"type": "array", "items": {"type": "string"}, "title": "Words"},
        "numbers": {"type": "array", "items": {"type": "integer"}, "title": "Numbers"},
        "files": {"type": "array", "items": {"type": "string", "format": "uri"}, "title": "Files"},
        "options": {"type": "object", "title": "Options"},
        "color": {"allOf": [{"$ref": "#/components/schemas/color"}], "default": "red"},
        "either": {"anyOf": [{"type": "integer"}, {"type": "string"}], "title": "Either"},
    },
    required=["text"],
    extra={
        "color": {
            "title": "color",
            "description": "An enumeration.",
            "enum": ["red", "green"],
            "type": "string",
        }
    },
)
