"""The `Output`/`TrainingOutput` component, from a runner's return annotation (spec §2.3).

Objects (cog.BaseModel dataclasses, pydantic models, dataclasses, TypedDicts) are inlined
with their class name as title, the resolved shape Cog has always published; iterators are
arrays marked `x-cog-array-type: iterator`, concatenating ones also
`x-cog-array-display: concatenate`.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import io
import os
import pathlib
import typing
from types import NoneType, UnionType
from typing import Any

from cog.input import is_ndarray, is_opaque
from cog.schema.inputs import SECRET_SCHEMA, URI_SCHEMA
from cog.schema.ndarray import ndarray_schema, spec_from_metadata
from cog.schema.titles import title_case
from cog.types import AsyncConcatenateIterator, ConcatenateIterator, Secret

_ITERATORS = {
    collections.abc.Iterator,
    collections.abc.AsyncIterator,
    collections.abc.Generator,
    collections.abc.AsyncGenerator,
    collections.abc.Iterable,
    collections.abc.AsyncIterable,
}
_KEY_QUALIFIERS = {
    q for q in (getattr(typing, "NotRequired", None), getattr(typing, "Required", None)) if q
}
_CONCATENATE = {ConcatenateIterator, AsyncConcatenateIterator}
_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
}


class OutputTypeError(ValueError):
    """The return annotation is not an output type Cog supports."""


def output_component(annotation: Any, title: str = "Output") -> dict[str, Any]:
    """The output component; a top-level object keeps its class name unless it is `Output`."""
    schema = _Builder().top(annotation)
    if schema.get("title") in (None, "Output", "TrainingOutput"):
        schema["title"] = title
    return schema


class _Builder:
    def __init__(self) -> None:
        self._active: set[type] = set()  # objects being expanded: a cycle becomes {type: object}

    def top(self, tpe: Any) -> dict[str, Any]:
        if _is_union(tpe):
            args = typing.get_args(tpe)
            if NoneType in args and len(args) == 2:
                raise OutputTypeError("output must not be Optional")
            raise OutputTypeError(f"output must not be a union: {_name(tpe)}")
        origin = typing.get_origin(tpe)
        if origin in _CONCATENATE or tpe in _CONCATENATE:
            (item,) = typing.get_args(tpe) or (str,)
            if item is not str:
                raise OutputTypeError(f"{_name(origin or tpe)} must have str element")
            return {
                "type": "array",
                "items": {"type": "string"},
                "x-cog-array-type": "iterator",
                "x-cog-array-display": "concatenate",
            }
        if origin in _ITERATORS:
            args = typing.get_args(tpe)
            item = args[0] if args else Any
            if _is_union(item) or typing.get_origin(item) is list:
                raise OutputTypeError(
                    f"iterator element must not be Optional or a list: {_name(tpe)}"
                )
            return {"type": "array", "items": self.schema(item), "x-cog-array-type": "iterator"}
        return self.schema(tpe)

    def schema(self, tpe: Any) -> dict[str, Any]:
        if typing.get_origin(tpe) in _KEY_QUALIFIERS:  # TypedDict NotRequired[T] / Required[T]
            return self.schema(typing.get_args(tpe)[0])
        if typing.get_origin(tpe) is typing.Annotated:
            inner = typing.get_args(tpe)[0]
            if is_opaque(tpe):
                if typing.get_origin(inner) is list or inner is list:
                    return {"type": "array", "items": {"type": "object"}}
                return {"type": "object"}
            if is_ndarray(inner):
                return ndarray_schema(spec_from_metadata(tpe.__metadata__))
            return self.schema(inner)
        if tpe is Any or tpe is object:
            return {}
        if tpe in _SCALARS:
            return dict(_SCALARS[tpe])
        origin = typing.get_origin(tpe)
        if tpe is list or origin is list:
            args = typing.get_args(tpe)
            return {"type": "array", "items": self.schema(args[0]) if args else {}}
        if tpe is dict or origin is dict:
            args = typing.get_args(tpe)
            value = self.schema(args[1]) if len(args) == 2 else {}
            return {"type": "object", "additionalProperties": value or True}
        if _is_union(tpe):
            return self._union(tpe)
        if isinstance(tpe, type):
            return self._class(tpe)
        raise OutputTypeError(f"unsupported output type: {_name(tpe)}")

    def _union(self, tpe: Any) -> dict[str, Any]:
        args = [a for a in typing.get_args(tpe) if a is not NoneType]
        members = [self.schema(a) for a in args]
        node: dict[str, Any] = members[0] if len(members) == 1 else {"anyOf": members}
        if len(args) < len(typing.get_args(tpe)):
            node["nullable"] = True
        return node

    def _class(self, tpe: type) -> dict[str, Any]:
        if issubclass(tpe, Secret):
            return dict(SECRET_SCHEMA)
        if issubclass(tpe, (pathlib.PurePath, os.PathLike, io.IOBase)):
            return dict(URI_SCHEMA)
        if issubclass(tpe, enum.Enum):
            values = [m.value for m in tpe]
            kind = "integer" if all(type(v) is int for v in values) else "string"
            return {
                "title": tpe.__name__,
                "description": "An enumeration.",
                "enum": values,
                "type": kind,
            }
        if is_ndarray(tpe):
            return ndarray_schema(spec_from_metadata(()))
        fields = _object_fields(tpe)
        if fields is None:
            raise OutputTypeError(f"unsupported output type: {_name(tpe)}")
        if tpe in self._active:
            return {"type": "object"}
        self._active.add(tpe)
        try:
            return self._object(tpe, fields)
        finally:
            self._active.discard(tpe)

    def _object(self, tpe: type, fields: list[_ObjectField]) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        lists_required = False
        for field in fields:
            prop = self.schema(field.annotation)
            if "title" not in prop:  # nested objects keep their class name as title
                prop = {"title": title_case(field.name), **prop}
            if field.has_default and _is_json_literal(field.default) and field.default is not None:
                prop["default"] = field.default
            properties[field.name] = prop
            if not field.has_default:
                lists_required = True
                if not prop.get("nullable"):
                    required.append(field.name)
        node: dict[str, Any] = {"title": tpe.__name__, "type": "object", "properties": properties}
        if lists_required:
            node["required"] = required
        return node


@dataclasses.dataclass(frozen=True)
class _ObjectField:
    name: str
    annotation: Any
    has_default: bool
    default: Any = None


def _object_fields(tpe: type) -> list[_ObjectField] | None:
    """The fields of an object output type, or None when `tpe` is not one."""
    hints = _hints(tpe)
    if dataclasses.is_dataclass(tpe):
        out = []
        for f in dataclasses.fields(tpe):
            has_default = f.default is not dataclasses.MISSING
            has_factory = f.default_factory is not dataclasses.MISSING
            out.append(
                _ObjectField(
                    f.name,
                    hints.get(f.name, f.type),
                    has_default or has_factory,
                    f.default if has_default else None,
                )
            )
        return out
    model_fields = getattr(tpe, "model_fields", None)
    if isinstance(model_fields, dict) and hasattr(tpe, "model_json_schema"):  # pydantic v2
        out = []
        for name, info in model_fields.items():
            required = info.is_required()
            default = None if required or info.default_factory is not None else info.default
            out.append(_ObjectField(name, hints.get(name, info.annotation), not required, default))
        return out
    if typing.is_typeddict(tpe):
        required_keys = getattr(tpe, "__required_keys__", frozenset(hints))
        return [_ObjectField(n, a, n not in required_keys) for n, a in hints.items()]
    return None


def _hints(tpe: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(tpe, include_extras=True)
    except Exception as exc:
        raise OutputTypeError(
            f"cannot resolve the field annotations of output type {tpe.__name__}: {exc}"
        ) from None


def _is_union(tpe: Any) -> bool:
    return typing.get_origin(tpe) in (typing.Union, UnionType)


def _is_json_literal(value: Any) -> bool:
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, list):
        return all(_is_json_literal(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json_literal(v) for k, v in value.items())
    return False


def _name(tpe: Any) -> str:
    return getattr(tpe, "__name__", None) or str(tpe)
