"""Checks a parsed cog.yaml against Cog's JSON schema (`cog/data/config_schema_v1.0.json`).

The schema is the reference for which keys and types are valid; this walker interprets the
subset of draft-07 that the schema uses (type, properties, additionalProperties, required,
items, anyOf, oneOf, not, enum, pattern, minItems, $ref) and reports the first problem in
the message formats of spec §5.1, naming the field, the value and what is allowed.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from cog.config.errors import ConfigError, invalid, schema_error

_TYPE_NAMES = {
    "object": "mapping",
    "array": "list",
    "string": "string",
    "boolean": "boolean",
    "integer": "integer",
    "number": "number",
    "null": "null",
}

# Friendlier wording than a raw regular expression for the patterns users meet most.
_PATTERN_HINTS = {
    "environment": "must be in the form NAME=value, NAME made of letters, digits and "
    "underscores and not starting with a digit",
    "name": "must be lowercase letters and digits, optionally separated by single '.', '_' "
    "or '-' (for example 'base-model')",
}


@cache
def config_schema() -> dict[str, Any]:
    """Cog's cog.yaml JSON schema, as shipped in the package."""
    text = resources.files("cog").joinpath("data/config_schema_v1.0.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def check_structure(document: dict[str, Any]) -> None:
    """Raise ConfigError for the first place where `document` breaks the schema."""
    schema = config_schema()
    _check(document, schema, "", schema)


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "null":
        return value is None
    raise ValueError(f"unsupported schema type {name!r}")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _leaf(path: str) -> str:
    """The last key of a path, without list indexes: `weights[0].name` -> `name`."""
    return re.sub(r"\[\d+\]$", "", path.rsplit(".", 1)[-1])


def _type_phrase(types: list[str]) -> str:
    """`a string or number`, `an integer`."""
    names = " or ".join([_TYPE_NAMES[t] for t in types if t != "null"] or ["null"])
    return ("an " if names[0] in "aeiou" else "a ") + names


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    node: Any = schema
    while "$ref" in node:
        node = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _type_fits(value: Any, schema: dict[str, Any]) -> bool:
    types = schema.get("type")
    if types is None:
        return True
    return any(_is_type(value, t) for t in ([types] if isinstance(types, str) else types))


def _matches(value: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    try:
        _check(value, schema, "", root)
    except ConfigError:
        return False
    return True


def _check(value: Any, schema: dict[str, Any], path: str, root: dict[str, Any]) -> None:
    if "$ref" in schema:
        _check(value, _resolve(schema, root), path, root)
        return

    types = schema.get("type")
    if types is not None:
        allowed = [types] if isinstance(types, str) else list(types)
        if not any(_is_type(value, t) for t in allowed):
            raise schema_error(path, f"must be {_type_phrase(allowed)}")

    for option in ("anyOf", "oneOf"):
        if option in schema:
            branches = schema[option]
            if not any(_matches(value, branch, root) for branch in branches):
                # When one alternative has the value's type, its own error is the useful one.
                typed = [b for b in branches if _type_fits(value, _resolve(b, root))]
                if len(typed) == 1:
                    _check(value, typed[0], path, root)
                raise schema_error(path, _describe_alternatives(branches))

    if "not" in schema and _matches(value, schema["not"], root):
        required = schema["not"].get("required", [])
        raise invalid(path or "cog.yaml", f"only one of {' or '.join(required)} can be set")

    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(str(c) for c in schema["enum"])
        raise invalid(path, f"must be one of: {choices}", value)

    if isinstance(value, str) and "pattern" in schema:
        if re.search(schema["pattern"], value) is None:
            hint = _PATTERN_HINTS.get(_leaf(path), f"must match {schema['pattern']}")
            raise invalid(path, hint, value)

    if isinstance(value, dict):
        _check_mapping(value, schema, path, root)
    elif isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            least = schema["minItems"]
            raise schema_error(path, f"must have at least {least} item{'s' if least > 1 else ''}")
        if "items" in schema:
            for index, item in enumerate(value):
                _check(item, schema["items"], _join(path, index), root)


def _check_mapping(
    value: dict[str, Any], schema: dict[str, Any], path: str, root: dict[str, Any]
) -> None:
    properties: dict[str, Any] = schema.get("properties", {})
    for key in value:
        if not isinstance(key, str):
            raise schema_error(path, f"keys must be strings, got {key!r}")
    if schema.get("additionalProperties") is False:
        for key in value:
            if key not in properties:
                allowed = ", ".join(properties)
                raise schema_error(
                    path, f'unknown field "{key}" is not allowed; allowed fields: {allowed}'
                )
    for key in schema.get("required", []):
        if key not in value:
            raise schema_error(path, f'missing required field "{key}"')
    for key, item in value.items():
        if key in properties:
            _check(item, properties[key], _join(path, key), root)


def _describe_alternatives(branches: list[dict[str, Any]]) -> str:
    phrases = []
    for branch in branches:
        if "$ref" in branch:
            phrases.append("a mapping")
        elif branch.get("type") == "array":
            least = branch.get("minItems", 0)
            phrases.append("a non-empty list of mappings" if least else "a list")
        elif "type" in branch:
            types = branch["type"]
            phrases.append(_type_phrase([types] if isinstance(types, str) else types))
    return "must be " + " or ".join(phrases)
