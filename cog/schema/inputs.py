"""The `Input`/`TrainingInput` component and its enum components, from a runner's inputs.

Shapes follow what Cog has always published (spec §2.2): one property per parameter in
signature order with a 0-based `x-order`, choices as `allOf: [$ref <param>]` to an enum
component named after the parameter, `nullable` instead of a null type.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cog.input import InputField, InputType
from cog.schema.ndarray import ndarray_schema, spec_from_metadata
from cog.schema.titles import title_case

REF_PREFIX = "#/components/schemas/"

SECRET_SCHEMA: dict[str, Any] = {
    "type": "string",
    "format": "password",
    "writeOnly": True,
    "x-cog-secret": True,
}
URI_SCHEMA: dict[str, Any] = {"type": "string", "format": "uri"}
_SCALARS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "path": URI_SCHEMA,
    "file": URI_SCHEMA,
    "secret": SECRET_SCHEMA,
    "object": {"type": "object"},
    "custom": {"type": "object"},
}


def input_components(
    fields: Iterable[InputField], title: str = "Input"
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The input component and the enum components its choice inputs refer to."""
    properties: dict[str, Any] = {}
    enums: dict[str, dict[str, Any]] = {}
    required: list[str] = []
    lists_required = False
    for field in sorted(fields, key=lambda f: f.order):
        if field.choices is not None:
            prop, enum = _choice_property(field)
            enums[field.name] = enum
        else:
            prop = _property(field)
        properties[field.name] = prop
        if field.required:
            required.append(field.name)
            lists_required = True
        elif field.field_info is None and not field.has_default:
            # A bare `x: Optional[T]` was a required-then-relaxed field in Cog's
            # generator, which left an empty `required` list behind; keep the shape.
            lists_required = True
    component: dict[str, Any] = {"title": title, "type": "object", "properties": properties}
    if lists_required:
        component["required"] = required
    return component, enums


def _property(field: InputField) -> dict[str, Any]:
    prop: dict[str, Any] = {"title": title_case(field.name)}
    prop.update(type_schema(field.type))
    _constraints(prop, field)
    _common(prop, field)
    return prop


def _choice_property(field: InputField) -> tuple[dict[str, Any], dict[str, Any]]:
    """Choices: the property points at an enum component named after the parameter.

    For `Input(choices=...)` the description stays on the property; for `Literal`/Enum
    annotations Cog moved it into the enum component, and so do we.
    """
    values = list(field.choices or [])
    kind = "integer" if field.type.kind == "int" else "string"
    from_input = field.field_info is not None and field.field_info.choices is not None
    description = field.description
    enum: dict[str, Any] = {
        "title": field.name,
        "description": description if description and not from_input else "An enumeration.",
        "enum": values,
        "type": kind,
    }
    prop: dict[str, Any] = {"allOf": [{"$ref": REF_PREFIX + field.name}]}
    if field.type.is_list:
        prop = {"type": "array", "items": prop, "title": title_case(field.name)}
    _common(prop, field, with_description=from_input)
    return prop, enum


def _common(prop: dict[str, Any], field: InputField, *, with_description: bool = True) -> None:
    if with_description and field.description is not None:
        prop["description"] = field.description
    if field.has_default and field.default is not None:
        prop["default"] = field.default
    if field.deprecated:
        prop["deprecated"] = True
    if field.accept is not None:
        prop["x-cog-accept"] = field.accept
    if field.nullable:
        prop["nullable"] = True
    prop["x-order"] = field.order


def _constraints(prop: dict[str, Any], field: InputField) -> None:
    # On a list input the bounds apply to each element.
    target = prop["items"] if field.type.is_list and "items" in prop else prop
    if field.ge is not None:
        target["minimum"] = field.ge
    if field.le is not None:
        target["maximum"] = field.le
    if field.min_length is not None:
        target["minLength"] = field.min_length
    if field.max_length is not None:
        target["maxLength"] = field.max_length
    if field.regex is not None:
        target["pattern"] = field.regex


def type_schema(tpe: InputType) -> dict[str, Any]:
    """The JSON schema of an input type, without title, constraints or nullability."""
    if tpe.kind == "union":
        return {"anyOf": [_list_or_element(member) for member in tpe.members]}
    return _list_or_element(tpe)


def _list_or_element(tpe: InputType) -> dict[str, Any]:
    element = _element(tpe)
    return {"type": "array", "items": element} if tpe.is_list else element


def _element(tpe: InputType) -> dict[str, Any]:
    if tpe.kind == "ndarray":
        return ndarray_schema(spec_from_metadata(tpe.metadata))
    try:
        return dict(_SCALARS[tpe.kind])
    except KeyError:
        raise ValueError(f"no schema for input kind {tpe.kind!r}") from None
