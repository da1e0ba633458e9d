"""Edge validation of request inputs against the Input component (spec §1.9, §3.6, §8)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from cog import coercion
from cog.coercion import InputValidationError, file_fields, validate_input
from cog.schema import schema_for_project

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "predictors"


@functools.cache
def schema(fixture: str, ref: str = "predict.py:Predictor", train: str | None = None) -> dict:
    return schema_for_project(FIXTURES / fixture, ref, train)


def errors(fixture: str, payload: Any, **kwargs: Any) -> list[dict[str, Any]]:
    with pytest.raises(InputValidationError) as info:
        validate_input(schema(fixture), payload, **kwargs)
    return info.value.detail


def only_error(fixture: str, payload: Any) -> dict[str, Any]:
    (entry,) = errors(fixture, payload)
    return entry


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SCALARS = {"s": "a", "i": 1, "f": 1.5, "b": True}


# --- envelope rules -------------------------------------------------------------------


@pytest.mark.parametrize("payload", [None, {}])
def test_missing_or_null_input_is_empty_object(payload: Any) -> None:
    assert validate_input(schema("no_inputs"), payload) == {}
    assert validate_input(schema("out_iterator_str"), payload) == {"n": 3}


def test_unknown_keys_are_dropped_silently() -> None:
    assert validate_input(schema("str_basic"), {"text": "x", "extra": 1, "more": None}) == {
        "text": "x"
    }


def test_missing_required_field() -> None:
    assert only_error("str_basic", {}) == {
        "loc": ["body", "input", "text"],
        "msg": "Field required",
        "type": "value_error.missing",
    }


def test_every_failing_field_is_reported() -> None:
    detail = errors("scalar_types", {"i": "x", "b": 1})
    assert [(e["loc"][-1], e["msg"]) for e in detail] == [
        ("s", "Field required"),
        ("i", 'i must be an integer, got string "x"'),
        ("f", "Field required"),
        ("b", "b must be a boolean, got integer 1"),
    ]


def test_input_that_is_not_an_object() -> None:
    assert only_error("str_basic", ["text"]) == {
        "loc": ["body", "input", "__root__"],
        "msg": "input must be an object mapping input names to values, got array",
        "type": "dict_type",
    }


def test_defaults_are_filled_and_copied() -> None:
    first = validate_input(schema("list_inputs"), {"words": [], "images": []})
    assert first["numbers"] == [1, 2, 3]
    assert first["floats"] == [0.5]
    first["numbers"].append(4)
    second = validate_input(schema("list_inputs"), {"words": [], "images": []})
    assert second["numbers"] == [1, 2, 3]


# --- optional, null, default=None ------------------------------------------------------


def test_omitted_optional_without_default_is_none() -> None:
    values = validate_input(schema("optional_inputs"), {})
    assert values == {"a": None, "b": None, "c": None, "d": None, "e": 0.5, "f": "set", "g": None}


def test_explicit_null_is_accepted_for_nullable_fields() -> None:
    values = validate_input(schema("optional_inputs"), {"a": None, "e": None, "f": None})
    assert values["a"] is None and values["e"] is None and values["f"] is None


def test_default_none_idiom_is_optional_and_takes_null() -> None:
    assert validate_input(schema("default_none"), {}) == {
        "seed": None,
        "name": None,
        "image": None,
        "token": None,
        "ratio": None,
    }
    assert validate_input(schema("default_none"), {"seed": None})["seed"] is None
    assert validate_input(schema("default_none"), {"seed": 42})["seed"] == 42


def test_null_for_a_non_nullable_field_is_rejected() -> None:
    assert only_error("str_basic", {"text": None}) == {
        "loc": ["body", "input", "text"],
        "msg": "text must be a string, got null",
        "type": "string_type",
    }
    assert only_error("input_options", {"prompt": "p", "steps": None})["msg"] == (
        "steps must be an integer, got null"
    )


# --- scalar types ---------------------------------------------------------------------


def test_bool_is_not_int_and_int_is_not_bool() -> None:
    detail = errors("scalar_types", {**SCALARS, "i": True, "b": 0})
    assert [(e["msg"], e["type"]) for e in detail] == [
        ("i must be an integer, got boolean true", "int_type"),
        ("b must be a boolean, got integer 0", "bool_type"),
    ]


def test_bool_is_not_a_number() -> None:
    assert only_error("scalar_types", {**SCALARS, "f": False})["msg"] == (
        "f must be a number, got boolean false"
    )


def test_int_for_number_becomes_float() -> None:
    values = validate_input(schema("scalar_types"), {**SCALARS, "f": 3, "f_int_def": 4})
    assert values["f"] == 3.0 and type(values["f"]) is float
    assert type(values["f_int_def"]) is float
    assert type(validate_input(schema("scalar_types"), SCALARS)["f_int_def"]) is int  # default


def test_integral_float_for_integer_becomes_int() -> None:
    values = validate_input(schema("scalar_types"), {**SCALARS, "i": 2.0})
    assert values["i"] == 2 and type(values["i"]) is int
    assert only_error("scalar_types", {**SCALARS, "i": 2.5})["msg"] == (
        "i must be an integer, got number 2.5"
    )


@pytest.mark.parametrize(("field", "value"), [("i", "3"), ("f", "1.5"), ("b", "true")])
def test_strings_are_never_coerced(field: str, value: str) -> None:
    entry = only_error("scalar_types", {**SCALARS, field: value})
    assert entry["loc"] == ["body", "input", field]
    assert f'got string "{value}"' in entry["msg"]


def test_numbers_are_not_strings() -> None:
    assert (
        only_error("scalar_types", {**SCALARS, "s": 5})["msg"]
        == "s must be a string, got integer 5"
    )


def test_url_for_a_str_input_stays_a_string() -> None:
    url = "https://example.com/image.png"
    assert validate_input(schema("str_basic"), {"text": url}) == {"text": url}


# --- constraints -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "msg", "kind"),
    [
        ({"steps": 0}, "steps must be >= 1, got 0", "greater_than_equal"),
        ({"steps": 101}, "steps must be <= 100, got 101", "less_than_equal"),
        ({"scale": 20.5}, "scale must be <= 20, got 20.5", "less_than_equal"),
        ({"scale": -1}, "scale must be >= 0, got -1", "greater_than_equal"),
        ({"code": ""}, "code must be at least 1 characters long, got 0", "string_too_short"),
        ({"code": "abcdefghi"}, "code must be at most 8 characters long, got 9", "string_too_long"),
        (
            {"code": "ABC"},
            'code must match the pattern "^[a-z]+$", got "ABC"',
            "string_pattern_mismatch",
        ),
    ],
)
def test_constraints(values: dict[str, Any], msg: str, kind: str) -> None:
    entry = only_error("input_options", {"prompt": "p", **values})
    assert (entry["msg"], entry["type"]) == (msg, kind)


def test_bounds_are_inclusive() -> None:
    values = validate_input(schema("input_options"), {"prompt": "p", "steps": 100, "scale": 0})
    assert values["steps"] == 100 and values["scale"] == 0.0


def test_pattern_uses_search_semantics() -> None:
    doc = {
        "components": {
            "schemas": {
                "Input": {
                    "type": "object",
                    "properties": {"code": {"type": "string", "pattern": "[0-9]", "x-order": 0}},
                }
            }
        }
    }
    assert validate_input(doc, {"code": "abc1def"}) == {"code": "abc1def"}
    (entry,) = pytest.raises(
        InputValidationError, validate_input, doc, {"code": "abc"}
    ).value.detail
    assert entry["msg"] == 'code must match the pattern "[0-9]", got "abc"'


def test_deprecated_inputs_are_still_accepted() -> None:
    assert validate_input(schema("input_options"), {"prompt": "p", "old": "new"})["old"] == "new"


# --- choices ---------------------------------------------------------------------------


def test_string_choices() -> None:
    assert validate_input(schema("choices_str"), {"mode": "fast"}) == {
        "style": "photo",
        "mode": "fast",
    }
    entry = only_error("choices_str", {"mode": "medium"})
    assert entry == {
        "loc": ["body", "input", "mode"],
        "msg": 'mode must be one of "fast", "slow", got string "medium"',
        "type": "enum",
    }


def test_int_choices_reject_bools_and_strings() -> None:
    assert validate_input(schema("choices_int"), {"count": 2})["count"] == 2
    assert only_error("choices_int", {"count": True})["msg"] == (
        "count must be one of 1, 2, got boolean true"
    )
    assert only_error("choices_int", {"count": "1"})["msg"] == (
        'count must be one of 1, 2, got string "1"'
    )


def test_literal_choices() -> None:
    values = validate_input(schema("literal_choices"), {"color": "red"})
    assert values == {"color": "red", "level": 2, "shade": "dark"}
    assert only_error("literal_choices", {"color": "red", "level": 4})["msg"] == (
        "level must be one of 1, 2, 3, got integer 4"
    )


def test_training_input_component() -> None:
    doc = schema("train_class", "predict.py:Predictor", "train.py:Trainer")
    assert validate_input(doc, {"data": "/tmp/d"}, component="TrainingInput") == {
        "data": "/tmp/d",
        "mode": "lora",
    }
    with pytest.raises(InputValidationError) as info:
        validate_input(doc, {"data": "/tmp/d", "mode": "half"}, component="TrainingInput")
    assert info.value.detail[0]["msg"] == 'mode must be one of "lora", "full", got string "half"'


# --- lists, files, secrets, unions -----------------------------------------------------


def test_lists_check_each_element_and_name_its_index() -> None:
    entry = only_error("list_inputs", {"words": ["a"], "images": [], "numbers": [1, "2"]})
    assert entry == {
        "loc": ["body", "input", "numbers", 1],
        "msg": 'numbers[1] must be an integer, got string "2"',
        "type": "int_type",
    }


def test_a_scalar_is_not_a_list() -> None:
    entry = only_error("list_inputs", {"words": "a", "images": []})
    assert entry["msg"] == 'words must be a list of strings, got string "a"'
    assert entry["type"] == "list_type"


def test_list_of_floats_converts_ints() -> None:
    values = validate_input(schema("list_inputs"), {"words": [], "images": [], "floats": [1, 2.5]})
    assert values["floats"] == [1.0, 2.5] and type(values["floats"][0]) is float


def test_uri_inputs_are_strings() -> None:
    values = validate_input(schema("path_file"), {"image": "data:,x", "doc": "/local/file"})
    assert values["image"] == "data:,x" and values["doc"] == "/local/file"
    assert only_error("path_file", {"image": 3, "doc": "x"})["msg"] == (
        "image must be a URI string, got integer 3"
    )
    entry = only_error("list_inputs", {"words": [], "images": ["a", {}]})
    assert entry["msg"] == "images[1] must be a URI string, got object"


def test_secrets_are_strings() -> None:
    values = validate_input(schema("secret_inputs"), {"api_key": "k"})
    assert values == {"api_key": "k", "maybe_key": None, "default_key": "sekrit"}
    assert only_error("secret_inputs", {"api_key": 1})["msg"] == (
        "api_key must be a string, got integer 1"
    )


def test_union_picks_the_member_of_the_values_json_type() -> None:
    doc = schema("union_inputs")
    assert validate_input(doc, {"value": "x"})["value"] == "x"
    assert validate_input(doc, {"value": 3})["value"] == 3
    number = validate_input(doc, {"value": 1, "number": 2})["number"]
    assert number == 2 and type(number) is int  # int member matches exactly
    assert validate_input(doc, {"value": 1, "number": 2.5})["number"] == 2.5
    flag = validate_input(doc, {"value": 1, "flag": "yes"})["flag"]
    assert flag == "yes"


def test_union_rejects_other_types_naming_the_members() -> None:
    entry = only_error("union_inputs", {"value": True})
    assert entry == {
        "loc": ["body", "input", "value"],
        "msg": "value must be a string or an integer, got boolean true",
        "type": "union_type",
    }
    assert only_error("union_inputs", {"value": [1]})["msg"] == (
        "value must be a string or an integer, got array"
    )


def test_int_chosen_by_a_float_union_member_stays_int() -> None:
    doc = {
        "components": {
            "schemas": {
                "Input": {
                    "type": "object",
                    "properties": {"x": {"anyOf": [{"type": "string"}, {"type": "number"}]}},
                }
            }
        }
    }
    value = validate_input(doc, {"x": 3})["x"]
    assert value == 3 and type(value) is int


def test_nullable_union_and_opaque_objects() -> None:
    doc = schema_for_project(FIXTURES / "opaque_inputs", "run.py:Runner", None)
    values = validate_input(doc, {"config": {"a": [1]}, "value": None, "tags": ["x"]})
    assert values == {
        "config": {"a": [1]},
        "anything": None,
        "options": None,
        "blob": {},
        "value": None,
        "tags": ["x"],
    }
    entry = pytest.raises(InputValidationError, validate_input, doc, {"config": [1]}).value
    assert entry.detail[0]["msg"] == "config must be an object, got array"


# --- ndarray extension -----------------------------------------------------------------


def test_ndarray_inputs_take_nested_lists_of_the_right_shape() -> None:
    doc = schema_for_project(FIXTURES / "ndarray_input", "run.py:Runner", None)
    ok = {"values": [1, 2, 3], "matrix": [[1, 2, 3], [4, 5, 6]]}
    assert validate_input(doc, ok)["matrix"] == [[1, 2, 3], [4, 5, 6]]
    assert validate_input(doc, {**ok, "values": "data:application/octet-stream;base64,AA=="})
    detail = pytest.raises(
        InputValidationError, validate_input, doc, {**ok, "matrix": [[1, 2], [3, 4]]}
    ).value.detail
    assert detail[0]["msg"] == "matrix must have shape (*, 3), got (2, 2)"
    detail = pytest.raises(
        InputValidationError, validate_input, doc, {**ok, "values": [["a"]]}
    ).value.detail
    assert detail[0]["msg"] == "values must hold numbers, got elements of type <U1"
    detail = pytest.raises(
        InputValidationError, validate_input, doc, {**ok, "values": 3}
    ).value.detail
    assert detail[0]["msg"] == (
        "values must be a (nested) list of numbers, a URL or a .npy data URL, got integer 3"
    )


# --- files and caching -----------------------------------------------------------------


def test_file_fields_name_uri_inputs_and_whether_they_are_lists() -> None:
    assert file_fields(schema("path_file")) == {"image": False, "doc": False, "mask": False}
    assert file_fields(schema("list_inputs")) == {"images": True, "maybe_images": True}
    assert file_fields(schema("optional_inputs")) == {"c": False}
    assert file_fields(schema("scalar_types")) == {}
    doc = schema("train_function", "predict.py:Predictor", "train.py:train")
    assert file_fields(doc, "TrainingInput") == {"data": False}


def test_schema_is_compiled_once_per_schema_object() -> None:
    doc = schema("input_options")
    first = coercion._compiled(doc, "Input")
    assert coercion._compiled(doc, "Input") is first
    copy = {**doc}
    assert coercion._compiled(copy, "Input") is not first


def test_missing_component_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="the OpenAPI schema has no 'TrainingInput' component"):
        validate_input(schema("str_basic"), {}, component="TrainingInput")


def test_exception_message_joins_the_entries() -> None:
    with pytest.raises(InputValidationError) as info:
        validate_input(schema("scalar_types"), {"i": "x", "s": "s", "b": True})
    assert str(info.value) == 'i must be an integer, got string "x"; f: Field required'
