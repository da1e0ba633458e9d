"""Input validation against a schema's `Input` component, and conversion to model-visible values.

One library for every caller: the HTTP edge and the CLI call `validate_input`, which needs only
the OpenAPI document (no user code); the worker calls `prepare_arguments` to turn the validated
JSON values into what the model's signature asks for (`cog.Path`, `Secret`, floats, arrays).
The edge validates every request, so each schema is compiled once into per-field checks.
"""

from __future__ import annotations

import copy
import enum
import io
import json
import math
import os
import pathlib
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cog.input import InputType
    from cog.loader import Runner

__all__ = [
    "InputValidationError",
    "file_fields",
    "prepare_arguments",
    "validate_input",
]

_REF_PREFIX = "#/components/schemas/"
_MISSING: Any = object()


class InputValidationError(Exception):
    """A request's input does not fit the schema; `detail` is the body of Cog's 422 answer."""

    def __init__(self, detail: list[dict[str, Any]]) -> None:
        self.detail = detail
        super().__init__("; ".join(_summary(entry) for entry in detail))


def _summary(entry: dict[str, Any]) -> str:
    """One entry as a line for logs and the CLI; a bare "Field required" gets its field name."""
    if entry["msg"] == "Field required":
        return f"{entry['loc'][-1]}: Field required"
    return str(entry["msg"])


class _Invalid(Exception):
    """One value failed one check; `path` locates it inside the field (list indexes)."""

    def __init__(self, msg: str, kind: str, path: tuple[int | str, ...] = ()) -> None:
        self.msg = msg
        self.kind = kind
        self.path = path


Check = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Node:
    """A compiled schema node: `check` returns the accepted (possibly converted) value."""

    check: Check
    expected: str  # what is allowed, for messages ("an integer", "one of ...")
    json_type: str | None  # the JSON type it accepts, for union member choice


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    node: _Node
    required: bool
    accepts_null: bool
    default: Callable[[], Any] | None  # None: the field is filled with null when omitted


@dataclass(frozen=True, slots=True)
class _Compiled:
    fields: tuple[_Field, ...]


# --------------------------------------------------------------------------- public API


def validate_input(schema: dict[str, Any], payload: Any, *, component: str = "Input") -> dict:
    """Validate a request's `input` and return every declared input's value.

    Unknown keys are dropped; a missing or null payload is `{}`; omitted inputs get their
    default, or `None` when they have none (Optional inputs and the `default=None` idiom).
    Raises `InputValidationError` with one entry per failing field.
    """
    compiled = _compiled(schema, component)
    if payload is None:
        payload = {}
    elif not isinstance(payload, Mapping):
        raise InputValidationError(
            [
                _entry(
                    "__root__",
                    f"input must be an object mapping input names to values, got {_describe(payload)}",
                    "dict_type",
                )
            ]
        )
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for field in compiled.fields:
        name = field.name
        if name in payload:
            value = payload[name]
            if value is None and field.accepts_null:
                values[name] = None
                continue
            try:
                values[name] = field.node.check(value)
            except _Invalid as exc:
                where = name + "".join(f"[{p}]" for p in exc.path)
                errors.append(_entry(name, f"{where} {exc.msg}", exc.kind, exc.path))
        elif field.required:
            errors.append(_entry(name, "Field required", "value_error.missing"))
        else:
            values[name] = None if field.default is None else field.default()
    if errors:
        raise InputValidationError(errors)
    return values


def file_fields(schema: dict[str, Any], component: str = "Input") -> dict[str, bool]:
    """The inputs that carry files (`format: uri`), each mapped to whether it is a list."""
    components = _components(schema)
    out: dict[str, bool] = {}
    for name, prop in _component(schema, component).get("properties", {}).items():
        node = _resolve(prop, components)
        if _is_uri(node):
            out[name] = False
        elif node.get("type") == "array" and _is_uri(_resolve(node.get("items", {}), components)):
            out[name] = True
    return out


def prepare_arguments(
    runner: Runner, values: dict[str, Any], *, downloads: list[pathlib.Path] | None = None
) -> dict[str, Any]:
    """Turn validated JSON values into the Python values the runner's signature asks for.

    Path inputs become `cog.Path` (URLs are downloaded to temporary files, appended to
    `downloads` so the caller can remove them after the prediction), File inputs file
    objects, Secret inputs `Secret`, float inputs floats, ndarray inputs numpy arrays,
    Enum-annotated inputs their members; choices stay plain values.
    """
    converters = _converters(runner)
    sink = downloads if downloads is not None else []
    return {name: converters[name](values[name], sink) for name in runner.inputs if name in values}


# --------------------------------------------------------------------------- compilation

_cache: dict[tuple[int, str], tuple[dict[str, Any], _Compiled]] = {}
_cache_lock = threading.Lock()
_CACHE_SIZE = 32


def _compiled(schema: dict[str, Any], component: str) -> _Compiled:
    """The compiled validator of `schema`'s component, built once per schema object."""
    key = (id(schema), component)
    hit = _cache.get(key)
    if hit is not None and hit[0] is schema:
        return hit[1]
    compiled = _compile(schema, component)
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        # the schema is kept alive with its entry, so its id cannot be reused meanwhile
        _cache[key] = (schema, compiled)
    return compiled


def _components(schema: dict[str, Any]) -> dict[str, Any]:
    return schema.get("components", {}).get("schemas", {})


def _component(schema: dict[str, Any], component: str) -> dict[str, Any]:
    try:
        return _components(schema)[component]
    except KeyError:
        raise ValueError(f"the OpenAPI schema has no {component!r} component") from None


def _compile(schema: dict[str, Any], component: str) -> _Compiled:
    components = _components(schema)
    body = _component(schema, component)
    required = set(body.get("required", ()))
    props = body.get("properties", {})
    ordered = sorted(props.items(), key=lambda kv: kv[1].get("x-order", math.inf))
    fields = []
    for name, prop in ordered:
        node = _resolve(prop, components)
        has_default = "default" in node
        is_required = name in required and not has_default
        default = _default_factory(node["default"]) if has_default else None
        accepts_null = bool(node.get("nullable")) or (not is_required and default is None)
        if has_default and node["default"] is None:
            default, accepts_null = None, True
        fields.append(
            _Field(
                name=name,
                node=_compile_node(node, components, name),
                required=is_required,
                accepts_null=accepts_null,
                default=default,
            )
        )
    return _Compiled(tuple(fields))


def _default_factory(default: Any) -> Callable[[], Any]:
    if isinstance(default, (list, dict)):
        return lambda: copy.deepcopy(default)
    return lambda: default


def _resolve(node: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Inline `$ref` and single-element `allOf: [$ref]` (choices); siblings win."""
    seen = 0
    while True:
        if "$ref" in node:
            target = _deref(node["$ref"], components)
            rest = {k: v for k, v in node.items() if k != "$ref"}
        elif "allOf" in node and len(node["allOf"]) == 1:
            target = _resolve(node["allOf"][0], components)
            rest = {k: v for k, v in node.items() if k != "allOf"}
        else:
            return node
        node = {**target, **rest}
        seen += 1
        if seen > 32:
            raise ValueError("schema references nest too deeply (a reference cycle?)")


def _deref(ref: str, components: dict[str, Any]) -> dict[str, Any]:
    if not ref.startswith(_REF_PREFIX) or ref[len(_REF_PREFIX) :] not in components:
        raise ValueError(f"unresolvable schema reference {ref!r}")
    return components[ref[len(_REF_PREFIX) :]]


def _is_uri(node: dict[str, Any]) -> bool:
    return node.get("type") == "string" and node.get("format") == "uri"


def _compile_node(node: dict[str, Any], components: dict[str, Any], name: str) -> _Node:
    node = _resolve(node, components)
    compiled = _compile_bare(node, components, name)
    if not node.get("nullable"):
        return compiled
    inner = compiled.check

    def nullable(value: Any) -> Any:
        return None if value is None else inner(value)

    return _Node(nullable, f"{compiled.expected} or null", compiled.json_type)


def _compile_bare(node: dict[str, Any], components: dict[str, Any], name: str) -> _Node:
    if "anyOf" in node:
        return _union([_compile_node(m, components, name) for m in node["anyOf"]])
    if node.get("x-cog-array-type") == "ndarray":
        return _ndarray(node)
    if "enum" in node:
        return _enum(node)
    kind = node.get("type")
    if kind == "string":
        return _string(node, name)
    if kind == "integer":
        return _integer(node)
    if kind == "number":
        return _number(node)
    if kind == "boolean":
        return _boolean()
    if kind == "array":
        return _array(_compile_node(node.get("items", {}), components, name))
    if kind == "object":
        return _object()
    if kind is None:
        return _Node(lambda value: value, "any value", None)
    raise ValueError(f"input {name!r} has a schema type Cog does not use: {kind!r}")


# --------------------------------------------------------------------------- node kinds


def _string(node: dict[str, Any], name: str) -> _Node:
    min_len = node.get("minLength")
    max_len = node.get("maxLength")
    pattern = node.get("pattern")
    try:
        search = re.compile(pattern).search if pattern is not None else None
    except re.error as exc:
        raise ValueError(f"input {name!r} has an invalid pattern {pattern!r}: {exc}") from None
    expected = "a URI string" if node.get("format") == "uri" else "a string"

    def check(value: Any) -> Any:
        if type(value) is not str:
            raise _Invalid(f"must be {expected}, got {_describe(value)}", "string_type")
        if min_len is not None and len(value) < min_len:
            raise _Invalid(
                f"must be at least {min_len} characters long, got {len(value)}",
                "string_too_short",
            )
        if max_len is not None and len(value) > max_len:
            raise _Invalid(
                f"must be at most {max_len} characters long, got {len(value)}",
                "string_too_long",
            )
        if search is not None and search(value) is None:
            raise _Invalid(
                f"must match the pattern {json.dumps(pattern)}, got {_short(value)}",
                "string_pattern_mismatch",
            )
        return value

    return _Node(check, expected, "string")


def _bounds(node: dict[str, Any]) -> Callable[[Any], None]:
    low = node.get("minimum")
    high = node.get("maximum")

    def check(value: Any) -> None:
        if low is not None and value < low:
            raise _Invalid(f"must be >= {_num(low)}, got {_num(value)}", "greater_than_equal")
        if high is not None and value > high:
            raise _Invalid(f"must be <= {_num(high)}, got {_num(value)}", "less_than_equal")

    return check


def _integer(node: dict[str, Any]) -> _Node:
    bounds = _bounds(node)

    def check(value: Any) -> Any:
        kind = type(value)
        if kind is float and value.is_integer():
            value = int(value)
        elif kind is not int:
            raise _Invalid(f"must be an integer, got {_describe(value)}", "int_type")
        bounds(value)
        return value

    return _Node(check, "an integer", "integer")


def _number(node: dict[str, Any]) -> _Node:
    bounds = _bounds(node)

    def check(value: Any) -> Any:
        kind = type(value)
        if kind is int:
            try:
                value = float(value)
            except OverflowError:
                raise _Invalid("is too large for a number", "float_type") from None
        elif kind is not float:
            raise _Invalid(f"must be a number, got {_describe(value)}", "float_type")
        bounds(value)
        return value

    return _Node(check, "a number", "number")


def _boolean() -> _Node:
    def check(value: Any) -> Any:
        if type(value) is not bool:
            raise _Invalid(f"must be a boolean, got {_describe(value)}", "bool_type")
        return value

    return _Node(check, "a boolean", "boolean")


def _object() -> _Node:
    def check(value: Any) -> Any:
        if not isinstance(value, dict):
            raise _Invalid(f"must be an object, got {_describe(value)}", "dict_type")
        return value

    return _Node(check, "an object", "object")


def _array(items: _Node) -> _Node:
    item_check = items.check

    def check(value: Any) -> Any:
        if type(value) is not list:
            raise _Invalid(
                f"must be a list of {_plural(items.expected)}, got {_describe(value)}",
                "list_type",
            )
        out = []
        for index, item in enumerate(value):
            try:
                out.append(item_check(item))
            except _Invalid as exc:
                raise _Invalid(exc.msg, exc.kind, (index, *exc.path)) from None
        return out

    return _Node(check, f"a list of {_plural(items.expected)}", "array")


def _enum(node: dict[str, Any]) -> _Node:
    allowed = list(node["enum"])
    # bool is not int: compare (type, value) pairs so `true` never matches choice 1
    members = {(_json_type(v), v) for v in allowed}
    expected = "one of " + ", ".join(json.dumps(v) for v in allowed)

    def check(value: Any) -> Any:
        if isinstance(value, float) and value.is_integer() and ("integer", int(value)) in members:
            return int(value)
        try:
            hit = (_json_type(value), value) in members
        except TypeError:  # unhashable: a list or an object
            hit = False
        if not hit:
            raise _Invalid(f"must be {expected}, got {_describe(value)}", "enum")
        return value

    return _Node(check, expected, _json_type(allowed[0]) if allowed else None)


def _union(members: list[_Node]) -> _Node:
    """Cog's union order: the member of the value's own JSON type first, then int as number."""
    by_type: dict[str, _Node] = {}
    for member in members:
        if member.json_type is not None:
            by_type.setdefault(member.json_type, member)
    expected = _join_or([m.expected for m in members])

    def check(value: Any) -> Any:
        kind = _json_type(value)
        member = by_type.get(kind)
        if member is not None:
            return member.check(value)
        if kind == "integer" and "number" in by_type:
            by_type["number"].check(value)
            return value  # a JSON int chosen by a float member reaches the model as int
        if kind == "number" and value.is_integer() and "integer" in by_type:
            return by_type["integer"].check(value)
        for candidate in members:
            if candidate.json_type is None:
                try:
                    return candidate.check(value)
                except _Invalid:
                    pass
        raise _Invalid(f"must be {expected}, got {_describe(value)}", "union_type")

    return _Node(check, expected, None)


def _ndarray(node: dict[str, Any]) -> _Node:
    """numpy inputs: nested lists (checked against dtype/shape), or a URL/.npy data URL."""
    spec = node.get("x-cog-ndarray", {})
    dtype = spec.get("dtype")
    shape = spec.get("shape")
    expected = "a (nested) list of numbers, a URL or a .npy data URL"

    def check(value: Any) -> Any:
        if isinstance(value, (str, bytes)):
            return value
        if type(value) is not list and type(value).__module__ != "numpy":
            raise _Invalid(f"must be {expected}, got {_describe(value)}", "list_type")
        import numpy

        try:
            array = numpy.asarray(value, dtype=dtype)
        except (ValueError, TypeError) as exc:
            raise _Invalid(f"must be {expected} that numpy reads: {exc}", "list_type") from None
        if array.dtype.kind not in "biufc":
            raise _Invalid(f"must hold numbers, got elements of type {array.dtype}", "list_type")
        if shape is not None and not _shape_fits(array.shape, shape):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise _Invalid(f"must have shape {want}, got {array.shape}", "list_type")
        return value

    return _Node(check, expected, "array")


def _shape_fits(actual: tuple[int, ...], wanted: list[int | None]) -> bool:
    return len(actual) == len(wanted) and all(
        w is None or w == a for a, w in zip(actual, wanted, strict=True)
    )


# --------------------------------------------------------------------------- conversion

Converter = Callable[[Any, list[pathlib.Path]], Any]
_converter_cache: dict[int, tuple[Runner, dict[str, Converter]]] = {}


def _converters(runner: Runner) -> dict[str, Converter]:
    """Per-input converters, built once per runner (the worker calls this per prediction)."""
    hit = _converter_cache.get(id(runner))
    if hit is not None and hit[0] is runner:
        return hit[1]
    built = {name: _converter(field.type) for name, field in runner.inputs.items()}
    with _cache_lock:
        if len(_converter_cache) >= _CACHE_SIZE:
            _converter_cache.pop(next(iter(_converter_cache)))
        _converter_cache[id(runner)] = (runner, built)
    return built


def _converter(tpe: InputType) -> Converter:
    element = _element_converter(tpe)
    if tpe.is_list:
        inner = element

        def each(value: Any, sink: list[pathlib.Path]) -> Any:
            return [inner(item, sink) for item in value]

        element = each
    # None gets past validation only for Optional inputs and for `default=None` on any type
    # (the legacy "random seed" idiom, spec §8.3): either way the model gets None.
    inner_nullable = element

    def nullable(value: Any, sink: list[pathlib.Path]) -> Any:
        return None if value is None else inner_nullable(value, sink)

    return nullable


def _element_converter(tpe: InputType) -> Converter:
    kind = tpe.kind
    if kind == "float":
        return _to_float
    if kind == "path":
        return _to_path
    if kind == "file":
        return _to_file
    if kind == "secret":
        return _to_secret
    if kind == "ndarray":
        return _ndarray_converter(tpe)
    if kind == "custom" and tpe.coder is not None:
        decode = tpe.coder.decode
        return lambda value, sink: decode(value)
    if isinstance(tpe.python_type, type) and issubclass(tpe.python_type, enum.Enum):
        members = tpe.python_type
        return lambda value, sink: value if isinstance(value, members) else members(value)
    return _unchanged


def _unchanged(value: Any, sink: list[pathlib.Path]) -> Any:
    return value


def _to_float(value: Any, sink: list[pathlib.Path]) -> Any:
    return float(value) if type(value) is int else value


def _to_path(value: Any, sink: list[pathlib.Path]) -> Any:
    from cog.types import Path, URLPath

    if isinstance(value, (bytes, bytearray, memoryview)):
        return _bytes_to_file(value, sink)
    path = Path.validate(value)
    if isinstance(path, URLPath):
        local = path.convert()
        sink.append(local)
        return local
    return path if isinstance(path, Path) else Path(path)


def _bytes_to_file(value: bytes | bytearray | memoryview, sink: list[pathlib.Path]) -> Any:
    """A file's contents sent as bytes (binary bodies, shared memory): a temporary file the
    caller removes after the prediction, since a `Path` input needs a name on disk."""
    import tempfile

    from cog.types import Path

    fd, name = tempfile.mkstemp(prefix="cog-input-")
    path = Path(name)
    sink.append(path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(value)
    return path


def _to_file(value: Any, sink: list[pathlib.Path]) -> Any:
    from cog.types import File

    if isinstance(value, (bytes, bytearray, memoryview)):
        return io.BytesIO(value)
    if isinstance(value, (str, os.PathLike)) and not _is_url(str(value)):
        return open(value, "rb")  # noqa: SIM115 - the model owns the file object
    return File.validate(value)


def _to_secret(value: Any, sink: list[pathlib.Path]) -> Any:
    from cog.types import Secret

    return value if isinstance(value, Secret) else Secret(value)


def _is_url(text: str) -> bool:
    return text.startswith(("data:", "http://", "https://"))


def _ndarray_converter(tpe: InputType) -> Converter:
    from cog.schema.ndarray import spec_from_metadata

    dtype = spec_from_metadata(tpe.metadata).dtype

    def convert(value: Any, sink: list[pathlib.Path]) -> Any:
        import numpy

        if isinstance(value, (bytes, bytearray, memoryview)):
            array = numpy.load(io.BytesIO(value), allow_pickle=False)
        elif isinstance(value, (str, os.PathLike)):
            array = _load_npy(str(value))
        else:
            array = value
        return numpy.asarray(array, dtype=dtype)

    return convert


def _load_npy(source: str) -> Any:
    """An array from a `.npy` data URL, http(s) URL or local file."""
    import numpy

    from cog.types import URLFile, decode_data_url

    if source.startswith("data:"):
        return numpy.load(io.BytesIO(decode_data_url(source)[1]), allow_pickle=False)
    if source.startswith(("http://", "https://")):
        return numpy.load(io.BytesIO(URLFile(source).read()), allow_pickle=False)
    return numpy.load(source, allow_pickle=False)


# --------------------------------------------------------------------------- messages


def _entry(name: str, msg: str, kind: str, path: tuple[int | str, ...] = ()) -> dict[str, Any]:
    return {"loc": ["body", "input", name, *path], "msg": msg, "type": kind}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    kind = type(value)
    if kind is bool:
        return "boolean"
    if kind is int:
        return "integer"
    if kind is float:
        return "number"
    if kind is str:
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return kind.__name__


def _describe(value: Any) -> str:
    kind = _json_type(value)
    if kind in ("boolean", "integer", "number", "string"):
        return f"{kind} {_short(value)}"
    return kind


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _num(value: float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _plural(expected: str) -> str:
    for article in ("an ", "a "):
        if expected.startswith(article):
            noun = expected[len(article) :]
            return noun if noun.endswith("s") else noun + "s"
    return f"items that are {expected}"


def _join_or(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
