"""Model inputs from the command line: `-i name=value` and `--json`, coerced by the model's
OpenAPI schema and checked before any container starts (spec §7.3)."""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from cog.cli.errors import CLIError
from cog.types import guess_type

INT32 = (-(2**31), 2**31 - 1)
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class InputError(CLIError):
    """Inputs that the model would reject; raised before building or starting anything."""


# Schema navigation --------------------------------------------------------------------------


def input_component(doc: Mapping[str, Any] | None, component: str = "Input") -> dict[str, Any]:
    """The `Input` (or `TrainingInput`) object schema of an OpenAPI document, or {}."""
    if not doc:
        return {}
    schemas = (doc.get("components") or {}).get("schemas") or {}
    found = schemas.get(component)
    if found is None and component == "TrainingInput":
        found = schemas.get("Input")
    return dict(found or {})


def resolve(doc: Mapping[str, Any] | None, prop: Mapping[str, Any]) -> dict[str, Any]:
    """A property schema with `$ref` and single-member `allOf` folded in."""
    merged = {k: v for k, v in prop.items() if k not in ("$ref", "allOf")}
    refs: list[Mapping[str, Any]] = []
    if "$ref" in prop:
        refs.append(prop)
    refs.extend(prop.get("allOf") or [])
    for part in refs:
        target = _deref(doc, part)
        for key, value in resolve(doc, target).items():
            merged.setdefault(key, value)
    return merged


def _deref(doc: Mapping[str, Any] | None, part: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = part.get("$ref")
    if not isinstance(ref, str):
        return part
    node: Any = doc or {}
    for key in ref.lstrip("#/").split("/"):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def ordered_names(component: Mapping[str, Any]) -> list[str]:
    props = component.get("properties") or {}
    return sorted(props, key=lambda n: (props[n].get("x-order", 1 << 30), n))


# -i name=value ----------------------------------------------------------------------------


def parse_input_flags(
    flags: Iterable[str], doc: Mapping[str, Any] | None, component: str = "Input"
) -> dict[str, Any]:
    """Turn repeated `-i name=value` flags into a JSON-able input dict."""
    props = input_component(doc, component).get("properties") or {}
    raw: dict[str, list[str]] = {}
    for flag in flags:
        name, sep, value = flag.partition("=")
        if not sep or not name:
            raise InputError(f"Failed to parse input '{flag}', expected format is 'name=value'")
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        raw.setdefault(name, []).append(value)
    inputs: dict[str, Any] = {}
    for name, values in raw.items():
        schema = resolve(doc, props[name]) if name in props else {}
        if len(values) > 1:
            items = resolve(doc, schema.get("items") or {}) if schema else {}
            inputs[name] = [_coerce_scalar(doc, items, v) for v in values]
        else:
            inputs[name] = _coerce(doc, schema, values[0])
    return inputs


def _coerce(doc: Mapping[str, Any] | None, schema: Mapping[str, Any], value: str) -> Any:
    if value.startswith("@"):
        return file_to_data_url(value[1:])
    kind = schema.get("type")
    if kind == "array":
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                parsed = json.loads(stripped)
            except ValueError:
                return value
            return parsed
        items = resolve(doc, schema.get("items") or {})
        return [_coerce_scalar(doc, items, value)]
    return _coerce_scalar(doc, schema, value)


def _coerce_scalar(doc: Mapping[str, Any] | None, schema: Mapping[str, Any], value: str) -> Any:
    if value.startswith("@"):
        return file_to_data_url(value[1:])
    members = schema.get("anyOf") or schema.get("oneOf")
    if members and "type" not in schema:
        return _coerce_union(doc, [resolve(doc, m) for m in members], value)
    kind = schema.get("type")
    if kind == "boolean":
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        return value
    if kind == "integer":
        parsed = _parse_int(value)
        return value if parsed is None else parsed
    if kind == "number":
        as_int = _parse_int(value)
        if as_int is not None:
            return as_int
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "object":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _coerce_union(doc: Mapping[str, Any] | None, members: list[dict[str, Any]], value: str) -> Any:
    types = [m.get("type") for m in members]
    for member in members:
        if member.get("type") in ("integer", "number", "boolean"):
            coerced = _coerce_scalar(doc, member, value)
            if not isinstance(coerced, str):
                return coerced
    if "string" in types:
        return value
    for member in members:
        coerced = _coerce_scalar(doc, member, value)
        if not isinstance(coerced, str):
            return coerced
    return value


def _parse_int(value: str) -> int | None:
    text = value.strip()
    body = text[1:] if text[:1] in "+-" else text
    if not body.isdigit() or not body.isascii():
        return None
    number = int(text, 10)
    return number if INT32[0] <= number <= INT32[1] else None


def file_to_data_url(path: str) -> str:
    """Read a local file (with `~` expansion) into `data:<mime>;base64,...`."""
    full = os.path.expanduser(path)
    try:
        with open(full, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise InputError(f"cannot read input file {path}: {exc.strerror or exc}") from exc
    mime = guess_type(full) or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# --json -----------------------------------------------------------------------------------


def parse_json_inputs(
    source: str, doc: Mapping[str, Any] | None, component: str = "Input"
) -> dict[str, Any]:
    """`--json '{...}'`, `--json @file`, `--json @-` or `--json -` (stdin)."""
    if source in ("-", "@-"):
        text = sys.stdin.read()
        where = "stdin"
    elif source.startswith("@"):
        path = os.path.expanduser(source[1:])
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise InputError(f"cannot read --json file {source[1:]}: {exc.strerror}") from exc
        where = source[1:]
    else:
        text = source
        where = "--json"
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InputError(f"invalid JSON in {where}: {exc}") from exc
    if not isinstance(value, dict):
        raise InputError(f"--json must be a JSON object of inputs, got {_json_type(value)}")
    if doc:
        _reject_unknown(value, input_component(doc, component))
    return {
        k: file_to_data_url(v[1:]) if isinstance(v, str) and v.startswith("@") else v
        for k, v in value.items()
    }


# Checks before building -------------------------------------------------------------------


def check_inputs(
    values: Mapping[str, Any], doc: Mapping[str, Any] | None, component: str = "Input"
) -> None:
    """Raise InputError with every problem the model would reject, in Cog's CLI wording."""
    if not doc:
        return
    schema = input_component(doc, component)
    _reject_unknown(values, schema)
    props = schema.get("properties") or {}
    problems: list[str] = []
    for name in schema.get("required") or []:
        if name not in values:
            problems.append(f'missing required input "{name}"')
    for name, value in values.items():
        prop = resolve(doc, props[name])
        problem = _check_value(doc, prop, value)
        if problem:
            problems.append(f'invalid input "{name}": {problem}')
    if not problems:
        problems = _edge_validation(values, doc, component)
    if problems:
        raise InputError("\n".join(problems))


def _reject_unknown(values: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    known = ordered_names(schema)
    for name in values:
        if name not in known:
            valid = ", ".join(known) if known else "(none: this model takes no inputs)"
            raise InputError(f'unknown input "{name}"; valid inputs are: {valid}')


def _check_value(doc: Mapping[str, Any] | None, prop: Mapping[str, Any], value: Any) -> str | None:
    if value is None:
        if prop.get("nullable"):
            return None
        return "must not be null (omit the input to use its default)"
    members = prop.get("anyOf") or prop.get("oneOf")
    if members and "type" not in prop:
        resolved = [resolve(doc, m) for m in members]
        if any(_check_value(doc, m, value) is None for m in resolved):
            return None
        wanted = " or ".join(str(m.get("type", "value")) for m in resolved)
        return f"expected {wanted}, got {_json_type(value)}"
    kind = prop.get("type")
    if kind and not _is_type(kind, value):
        return f"expected {kind}, got {_json_type(value)}"
    if kind == "array" and isinstance(value, list):
        items = resolve(doc, prop.get("items") or {})
        for index, item in enumerate(value):
            problem = _check_value(doc, items, item)
            if problem:
                return f"item {index}: {problem}"
    enum = prop.get("enum")
    if enum is not None and value not in enum:
        return "must be one of: " + ", ".join(str(e) for e in enum)
    return None


def _is_type(kind: str, value: Any) -> bool:
    if kind == "integer":
        # A JSON number with no fraction (2.0) is an integer to the server and to Cog.
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return _json_type(value) == kind


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _edge_validation(
    values: Mapping[str, Any], doc: Mapping[str, Any], component: str
) -> list[str]:
    """The server's own validator (constraints such as ge/le/regex), worded for the CLI."""
    try:
        from cog.coercion import InputValidationError, validate_input
    except ImportError:
        return []
    try:
        validate_input(dict(doc), dict(values), component=component)
    except InputValidationError as exc:
        problems = []
        for item in exc.detail:
            loc = [str(part) for part in item.get("loc") or []]
            name = loc[2] if len(loc) > 2 else loc[-1] if loc else "input"
            problems.append(f'invalid input "{name}": {item.get("msg", "invalid value")}')
        return problems
    return []
