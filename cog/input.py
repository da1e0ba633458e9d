"""`Input(...)` and `FieldInfo`, and `InputField`: one run() parameter as the loader describes it.

The schema generator, input coercion and the CLI read `InputField`s instead of
re-inspecting signatures, so every rule about input annotations and defaults lives here.
"""

from __future__ import annotations

import enum
import io
import os
import pathlib
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from types import UnionType
from typing import Any, Literal

from cog.coder import Coder
from cog.types import File, Opaque, Secret


class _Unset:
    """The "no default" marker (`Input()` with no default means required)."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class FieldInfo:
    """What `Input(...)` returns: the metadata and constraints of one input."""

    default: Any = UNSET
    description: str | None = None
    ge: int | float | None = None
    le: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    regex: str | None = None
    choices: list[str | int] | None = None
    deprecated: bool | None = None
    accept: str | None = None


def Input(  # noqa: N802 - Cog's public name
    default: Any = UNSET,
    *,
    default_factory: Callable[[], Any] | None = None,
    description: str | None = None,
    ge: int | float | None = None,
    le: int | float | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    regex: str | None = None,
    choices: list[str | int] | None = None,
    deprecated: bool | None = None,
    accept: str | None = None,
) -> Any:
    """Declare an input's default, description and constraints (no default: required)."""
    if default_factory is not None:
        raise TypeError(
            "default_factory is not supported in Input(). "
            "Use a literal default value instead: Input(default=...). "
            "Mutable defaults like lists should use immutable alternatives "
            "(e.g. a comma-separated string) or be constructed in run()."
        )
    return FieldInfo(
        default=default,
        description=description,
        ge=ge,
        le=le,
        min_length=min_length,
        max_length=max_length,
        regex=regex,
        choices=list(choices) if choices is not None else None,
        deprecated=deprecated,
        accept=accept,
    )


# Kinds of input value; "object" is opaque JSON (dict, Any, TypedDict, Opaque).
Kind = Literal[
    "str", "int", "float", "bool", "path", "file", "secret", "object", "ndarray", "custom", "union"
]

_SCALARS: dict[Any, Kind] = {str: "str", int: "int", float: "float", bool: "bool"}
_KIND_NAMES = {
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "path": "Path",
    "file": "File",
    "secret": "Secret",
    "object": "Any",
    "ndarray": "ndarray",
}


@dataclass(frozen=True)
class InputType:
    """The shape of an input annotation: element kind, list-ness and nullability.

    `python_type` is the element annotation (e.g. `cog.Path`, a TypedDict, an Enum class,
    `numpy.ndarray`); `members` holds the alternatives of a JSON-native union;
    `metadata` keeps non-Opaque `Annotated[...]` extras (e.g. ndarray dtype/shape hints).
    """

    kind: Kind
    python_type: Any = None
    is_list: bool = False
    nullable: bool = False
    opaque: bool = False
    members: tuple[InputType, ...] = ()
    literal_choices: tuple[Any, ...] | None = None
    coder: Coder | None = None
    metadata: tuple[Any, ...] = ()

    def type_name(self) -> str:
        """Python-style name used in messages (`int`, `Optional[List[str]]`, `str | int`)."""
        if self.kind == "union":
            name = " | ".join(m.type_name() for m in self.members)
        else:
            name = _KIND_NAMES.get(self.kind) or _type_label(self.python_type)
            if self.is_list:
                name = f"List[{name}]"
        return f"Optional[{name}]" if self.nullable else name


def _type_label(tpe: Any) -> str:
    return str(getattr(tpe, "__name__", None) or tpe)


def _is_union(tpe: Any) -> bool:
    return typing.get_origin(tpe) in (typing.Union, UnionType)


def _is_none(tpe: Any) -> bool:
    return tpe is None or tpe is type(None)


def is_opaque(tpe: Any) -> bool:
    """Whether `tpe` is `Annotated[..., cog.Opaque]`."""
    if typing.get_origin(tpe) is not typing.Annotated:
        return False
    return any(meta is Opaque for meta in tpe.__metadata__)


def is_dict_like(tpe: Any) -> bool:
    """dict, Dict[K, V] and TypedDict classes: opaque JSON objects."""
    return tpe is dict or typing.get_origin(tpe) is dict or typing.is_typeddict(tpe)


def is_ndarray(tpe: Any) -> bool:
    """`numpy.ndarray`, recognised without importing numpy."""
    return (
        isinstance(tpe, type)
        and tpe.__name__ == "ndarray"
        and tpe.__module__.split(".")[0] == "numpy"
    )


def _is_path(tpe: Any) -> bool:
    if tpe is os.PathLike or typing.get_origin(tpe) is os.PathLike:
        return True
    return isinstance(tpe, type) and issubclass(tpe, (pathlib.PurePath, os.PathLike))


def _is_list(tpe: Any) -> bool:
    return tpe is list or typing.get_origin(tpe) is list


def input_type(annotation: Any) -> InputType:
    """Analyse an input annotation; ValueError names what is not supported (spec §1.9)."""
    return _analyse(annotation, nullable=False, in_list=False)


def _analyse(tpe: Any, *, nullable: bool, in_list: bool) -> InputType:
    metadata: tuple[Any, ...] = ()
    if typing.get_origin(tpe) is typing.Annotated:
        inner = typing.get_args(tpe)[0]
        if is_opaque(tpe):
            return _opaque(inner, nullable=nullable, in_list=in_list)
        metadata = tuple(tpe.__metadata__)
        tpe = inner

    if _is_union(tpe):
        args = typing.get_args(tpe)
        has_none = any(_is_none(a) for a in args)
        rest = [a for a in args if not _is_none(a)]
        if in_list:
            raise ValueError("List cannot have nested type Optional or Union")
        if len(rest) == 1:
            if nullable:
                raise ValueError("Optional cannot have nested type Optional")
            return _analyse(rest[0], nullable=has_none or nullable, in_list=False)
        return _union(tpe, rest, nullable=has_none)

    if _is_list(tpe):
        if in_list:
            raise ValueError("List cannot have nested type list")
        args = typing.get_args(tpe)
        if len(args) > 1:
            raise ValueError("List must have one type argument")
        if not args or args[0] is Any:
            return InputType("object", python_type=Any, is_list=True, nullable=nullable)
        elem = _analyse(args[0], nullable=False, in_list=True)
        return _replace(elem, is_list=True, nullable=nullable)

    if tpe is Any or is_dict_like(tpe):
        return InputType("object", python_type=tpe, nullable=nullable, metadata=metadata)

    origin = typing.get_origin(tpe)
    if origin is Literal:
        values = typing.get_args(tpe)
        kinds = {_literal_kind(v) for v in values}
        if len(kinds) != 1 or None in kinds:
            raise ValueError(f"Literal values must all be str or all be int: {tpe}")
        return InputType(
            kinds.pop(),  # type: ignore[arg-type]
            python_type=tpe,
            nullable=nullable,
            literal_choices=values,
            metadata=metadata,
        )
    if origin is not None:
        raise ValueError(f"unsupported Cog type {_type_label(origin)}")

    if tpe in _SCALARS:
        return InputType(_SCALARS[tpe], python_type=tpe, nullable=nullable, metadata=metadata)
    if isinstance(tpe, type) and issubclass(tpe, enum.Enum):
        kind = _enum_kind(tpe)
        values = tuple(member.value for member in tpe)
        return InputType(
            kind, python_type=tpe, nullable=nullable, literal_choices=values, metadata=metadata
        )
    if isinstance(tpe, type) and issubclass(tpe, Secret):
        return InputType("secret", python_type=tpe, nullable=nullable, metadata=metadata)
    if _is_path(tpe):
        return InputType("path", python_type=tpe, nullable=nullable, metadata=metadata)
    if isinstance(tpe, type) and issubclass(tpe, (File, io.IOBase)):
        return InputType("file", python_type=tpe, nullable=nullable, metadata=metadata)
    if is_ndarray(tpe):
        return InputType("ndarray", python_type=tpe, nullable=nullable, metadata=metadata)
    coder = Coder.lookup(tpe)
    if coder is not None:
        return InputType(
            "custom", python_type=tpe, nullable=nullable, coder=coder, metadata=metadata
        )
    raise ValueError(f"unsupported Cog type {_type_label(tpe)}")


def _opaque(inner: Any, *, nullable: bool, in_list: bool) -> InputType:
    if _is_union(inner):
        args = typing.get_args(inner)
        rest = [a for a in args if not _is_none(a)]
        nullable = nullable or len(rest) != len(args)
        inner = rest[0] if len(rest) == 1 else Any
    is_list = _is_list(inner) and not in_list
    return InputType("object", python_type=inner, is_list=is_list, nullable=nullable, opaque=True)


def _union(tpe: Any, members: list[Any], *, nullable: bool) -> InputType:
    analysed = []
    for member in members:
        try:
            ft = _analyse(member, nullable=False, in_list=False)
        except ValueError:
            ft = None
        if ft is None or ft.kind not in ("str", "int", "float", "bool", "object") or ft.opaque:
            raise ValueError(f"unsupported union member {_type_label(member)} in union {tpe}")
        analysed.append(ft)
    return InputType("union", python_type=tpe, nullable=nullable, members=tuple(analysed))


def _literal_kind(value: Any) -> Kind | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return "str"
    if isinstance(value, int):
        return "int"
    return None


def _enum_kind(tpe: type[enum.Enum]) -> Kind:
    kinds = {_literal_kind(member.value) for member in tpe}
    if len(kinds) != 1 or None in kinds:
        raise ValueError(f"enum {tpe.__name__} values must all be str or all be int")
    return kinds.pop()  # type: ignore[return-value]


def _element(t: InputType) -> InputType:
    return _replace(t, is_list=False, nullable=False)


def _replace(t: InputType, **changes: Any) -> InputType:
    values = {f: getattr(t, f) for f in t.__dataclass_fields__}
    values.update(changes)
    return InputType(**values)


@dataclass(frozen=True)
class InputField:
    """One input of a runner: name, 0-based position, annotation, default and constraints.

    `default` is `UNSET` when there is none; Enum defaults are given as their values.
    `field_info` is the `Input(...)` object, or None for a plain default or none at all.
    Requiredness (spec §2.2, legacy choice for `default=None`): an input is required when
    it has no default and is not Optional; a multi-member union stays required even with
    `| None`. `x: int = Input(default=None)` is optional: `default` is None while the
    type is not nullable, and the model receives None when the input is omitted.
    """

    name: str
    order: int
    annotation: Any
    type: InputType
    field_info: FieldInfo | None = None
    default: Any = UNSET
    choices: list[Any] | None = field(default=None)

    @property
    def has_default(self) -> bool:
        return self.default is not UNSET

    @property
    def nullable(self) -> bool:
        return self.type.nullable

    @property
    def required(self) -> bool:
        if self.has_default:
            return False
        return not self.type.nullable or self.type.kind == "union"

    @property
    def description(self) -> str | None:
        return self.field_info.description if self.field_info else None

    @property
    def ge(self) -> int | float | None:
        return self.field_info.ge if self.field_info else None

    @property
    def le(self) -> int | float | None:
        return self.field_info.le if self.field_info else None

    @property
    def min_length(self) -> int | None:
        return self.field_info.min_length if self.field_info else None

    @property
    def max_length(self) -> int | None:
        return self.field_info.max_length if self.field_info else None

    @property
    def regex(self) -> str | None:
        return self.field_info.regex if self.field_info else None

    @property
    def deprecated(self) -> bool | None:
        return self.field_info.deprecated if self.field_info else None

    @property
    def accept(self) -> str | None:
        return self.field_info.accept if self.field_info else None


def describe_input(order: int, name: str, annotation: Any, default: Any) -> InputField:
    """Build the `InputField` of one parameter; ValueError carries the spec's message.

    `default` is the parameter's default as written: `UNSET`, an `Input(...)`, or a value.
    """
    try:
        tpe = input_type(annotation)
    except ValueError as exc:
        raise ValueError(f"invalid input field {name}: {exc}") from None
    info = default if isinstance(default, FieldInfo) else None
    raw_default = info.default if info is not None else default
    in_repr = f"{name}: {tpe.type_name()}"
    value = _normalize_default(raw_default)
    if info is not None:
        _check_constraints(name, in_repr, tpe, info)
    choices = _choices(in_repr, tpe, info)
    if value is not UNSET and value is not None:
        _check_default(in_repr, tpe, info, choices, value)
    return InputField(
        name=name,
        order=order,
        annotation=annotation,
        type=tpe,
        field_info=info,
        default=value,
        choices=choices,
    )


def _normalize_default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_normalize_default(v) for v in value]
    return value


def _check_constraints(name: str, in_repr: str, tpe: InputType, info: FieldInfo) -> None:
    kind = tpe.kind
    has_numeric = info.ge is not None or info.le is not None
    has_length = info.min_length is not None or info.max_length is not None
    if kind == "union" and (has_numeric or has_length or info.regex or info.choices):
        raise ValueError(f"constraints and choices are not supported on union inputs: {in_repr}")
    if has_numeric and kind not in ("int", "float"):
        raise ValueError(f"incompatible input type for ge/le: {in_repr}")
    if has_length and kind != "str":
        raise ValueError(f"incompatible input type for min_length/max_length: {in_repr}")
    if info.regex is not None:
        if kind != "str":
            raise ValueError(f"incompatible input type for regex: {in_repr}")
        try:
            re.compile(info.regex)
        except re.error as exc:
            raise ValueError(f"invalid regex {info.regex!r} for input: {in_repr}: {exc}") from None
    if info.accept is not None and kind not in ("path", "file"):
        raise ValueError(f"accept is only valid on Path or File inputs (parameter '{name}')")
    if info.choices is not None:
        if kind not in ("str", "int"):
            raise ValueError(f"incompatible input type for choices: {in_repr}")
        if len(info.choices) < 2:
            raise ValueError(f"choices={info.choices!r} must have >= 2 elements: {in_repr}")
        if has_numeric:
            raise ValueError(f"choices and ge/le are mutually exclusive: {in_repr}")
        if has_length:
            raise ValueError(f"choices and min_length/max_length are mutually exclusive: {in_repr}")
        values = [_normalize_default(c) for c in info.choices]
        if not all(_literal_kind(v) == kind for v in values):
            raise ValueError(f"not all choices have the same type as input: {in_repr}")


def _choices(in_repr: str, tpe: InputType, info: FieldInfo | None) -> list[Any] | None:
    if info is not None and info.choices is not None:
        return [_normalize_default(c) for c in info.choices]
    if tpe.literal_choices is not None:
        return list(tpe.literal_choices)
    return None


def _check_default(
    in_repr: str, tpe: InputType, info: FieldInfo | None, choices: list[Any] | None, value: Any
) -> None:
    if tpe.is_list:
        if not isinstance(value, list):
            raise ValueError(f"invalid default for {in_repr}: expected a list, got {value!r}")
        values = value
    else:
        values = [value]
    for v in values:
        if not _default_matches(tpe, v):
            raise ValueError(
                f"invalid default for {in_repr}: {v!r} is not a valid {_KIND_NAMES.get(tpe.kind, tpe.kind)}"
            )
    if info is not None:
        if info.ge is not None and not all(v >= info.ge for v in values):
            raise ValueError(f"invalid default for {in_repr}: must be at minimum {info.ge}")
        if info.le is not None and not all(v <= info.le for v in values):
            raise ValueError(f"invalid default for {in_repr}: must be at maximum {info.le}")
        if info.min_length is not None and not all(len(v) >= info.min_length for v in values):
            raise ValueError(
                f"default conflicts with min_length={info.min_length} for input: {in_repr}"
            )
        if info.max_length is not None and not all(len(v) <= info.max_length for v in values):
            raise ValueError(
                f"default conflicts with max_length={info.max_length} for input: {in_repr}"
            )
        if info.regex is not None and not all(re.search(info.regex, v) for v in values):
            raise ValueError(f"default not a regex match for input: {in_repr}")
    if choices is not None and not all(v in choices for v in values):
        raise ValueError(f"invalid default for {in_repr}: must be one of {choices!r}")


def _default_matches(tpe: InputType, value: Any) -> bool:
    kind = tpe.kind
    if kind == "union":
        return any(
            isinstance(value, list) and all(_default_matches(_element(m), v) for v in value)
            if m.is_list
            else _default_matches(m, value)
            for m in tpe.members
        )
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind in ("path", "file"):
        return isinstance(value, (str, os.PathLike))
    if kind == "secret":
        return isinstance(value, (str, Secret))
    return True
