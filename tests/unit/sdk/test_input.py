"""`Input(...)` and the description of one input: types, defaults, constraints, messages."""
# ruff: noqa: UP007, UP045 - models write typing.Optional/Union; the tests must too

from __future__ import annotations

import enum
import os
import pathlib
from typing import Annotated, Any, Literal, Optional, TypedDict, Union

import pytest

import cog
from cog import File, Input, Path, Secret
from cog.input import UNSET, FieldInfo, describe_input, input_type


class Color(str, enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    S = 1
    L = 3


class Movie(TypedDict):
    title: str


def field(annotation, default=UNSET, name="x"):
    return describe_input(0, name, annotation, default)


def test_input_returns_field_info_with_every_parameter():
    info = Input(
        "d",
        description="D",
        ge=None,
        le=None,
        min_length=1,
        max_length=5,
        regex="^d",
        choices=None,
        deprecated=True,
        accept=None,
    )
    assert isinstance(info, FieldInfo)
    assert (info.default, info.description, info.min_length, info.max_length) == ("d", "D", 1, 5)
    assert (info.regex, info.deprecated) == ("^d", True)
    assert Input().default is UNSET
    assert Input(default=None).default is None


def test_input_default_factory_is_rejected():
    with pytest.raises(TypeError, match=r"^default_factory is not supported in Input\(\)"):
        Input(default_factory=list)


def test_input_options_are_keyword_only():
    with pytest.raises(TypeError):
        Input(1, "description")  # type: ignore[misc]


def test_unset_marker_is_falsy_and_named():
    assert not UNSET and repr(UNSET) == "UNSET"


@pytest.mark.parametrize(
    ("annotation", "kind", "is_list", "nullable", "name"),
    [
        (str, "str", False, False, "str"),
        (int, "int", False, False, "int"),
        (float, "float", False, False, "float"),
        (bool, "bool", False, False, "bool"),
        (Path, "path", False, False, "Path"),
        (pathlib.Path, "path", False, False, "Path"),
        (os.PathLike, "path", False, False, "Path"),
        (File, "file", False, False, "File"),
        (Secret, "secret", False, False, "Secret"),
        (dict, "object", False, False, "Any"),
        (dict[str, Any], "object", False, False, "Any"),
        (Movie, "object", False, False, "Any"),
        (Any, "object", False, False, "Any"),
        (list[str], "str", True, False, "List[str]"),
        (list, "object", True, False, "List[Any]"),
        (Optional[int], "int", False, True, "Optional[int]"),
        (int | None, "int", False, True, "Optional[int]"),
        (Optional[list[Path]], "path", True, True, "Optional[List[Path]]"),
        (list[dict], "object", True, False, "List[Any]"),
        (Annotated[int, "meta"], "int", False, False, "int"),
    ],
)
def test_supported_input_types(annotation, kind, is_list, nullable, name):
    t = input_type(annotation)
    assert (t.kind, t.is_list, t.nullable, t.type_name()) == (kind, is_list, nullable, name)


def test_opaque_inputs():
    t = input_type(Annotated[dict, cog.Opaque])
    assert (t.kind, t.opaque, t.is_list) == ("object", True, False)
    t = input_type(Annotated[list[dict], cog.Opaque])
    assert (t.kind, t.opaque, t.is_list) == ("object", True, True)
    t = input_type(Optional[Annotated[dict, cog.Opaque]])
    assert (t.kind, t.opaque, t.nullable) == ("object", True, True)


def test_annotated_metadata_is_kept():
    t = input_type(Annotated[str, "a", "b"])
    assert t.metadata == ("a", "b")


def test_literal_and_enum_give_choices():
    f = field(Literal["a", "b"], "a")
    assert (f.type.kind, f.choices, f.default) == ("str", ["a", "b"], "a")
    f = field(Color, Color.RED)
    assert (f.type.kind, f.choices, f.default) == ("str", ["red", "blue"], "red")
    f = field(Size)
    assert (f.type.kind, f.choices) == ("int", [1, 3])
    with pytest.raises(ValueError, match="Literal values must all be str or all be int"):
        input_type(Literal["a", 1])


def test_json_native_unions():
    t = input_type(Union[str, int, list[float], dict])
    assert t.kind == "union" and not t.nullable
    assert [(m.kind, m.is_list) for m in t.members] == [
        ("str", False),
        ("int", False),
        ("float", True),
        ("object", False),
    ]
    assert t.type_name() == "str | int | List[float] | Any"
    t = input_type(str | int | None)
    assert t.nullable and t.type_name() == "Optional[str | int]"


@pytest.mark.parametrize("member", [Path, File, Secret])
def test_unions_with_file_or_secret_members_are_rejected(member):
    with pytest.raises(ValueError, match=f"unsupported union member {member.__name__} in union"):
        input_type(Union[str, member])


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        (list[list[str]], "List cannot have nested type list"),
        (list[Optional[str]], "List cannot have nested type Optional or Union"),
        (tuple[int, int], "unsupported Cog type tuple"),
        (set[int], "unsupported Cog type set"),
        (tuple, "unsupported Cog type tuple"),
        (cog.BaseModel, "unsupported Cog type BaseModel"),
        (bytes, "unsupported Cog type bytes"),
    ],
)
def test_unsupported_input_types(annotation, message):
    with pytest.raises(ValueError, match=message):
        input_type(annotation)


def test_unsupported_type_message_names_the_input():
    with pytest.raises(
        ValueError, match=r"^invalid input field frames: unsupported Cog type tuple$"
    ):
        describe_input(0, "frames", tuple, UNSET)


def test_ndarray_recognised_without_importing_numpy():
    np = pytest.importorskip("numpy")
    t = input_type(np.ndarray)
    assert (t.kind, t.python_type) == ("ndarray", np.ndarray)


# --- requiredness ----------------------------------------------------------------------------


def test_requiredness():
    assert field(str).required
    assert field(str, Input()).required
    assert not field(str, "x").required
    assert not field(str, Input(default="x")).required
    assert not field(Optional[str]).required  # bare Optional: omitted -> None
    assert not field(Optional[str], Input(description="d")).required
    assert field(str | int | None).required  # multi-member unions stay required
    assert not field(str | int | None, None).required
    seed = field(int, Input(default=None))  # the random-seed idiom: optional, not nullable
    assert (seed.required, seed.nullable, seed.default) == (False, False, None)
    secret = field(Secret, Input(default=None))
    assert not secret.required


# --- constraints -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "info", "message"),
    [
        (str, Input(ge=1), r"^incompatible input type for ge/le: x: str$"),
        (list[str], Input(le=1), r"^incompatible input type for ge/le: x: List\[str\]$"),
        (int, Input(min_length=1), r"^incompatible input type for min_length/max_length: x: int$"),
        (int, Input(regex="a"), r"^incompatible input type for regex: x: int$"),
        (str, Input(regex="("), r"^invalid regex '\(' for input: x: str"),
        (float, Input(choices=[1.0, 2.0]), r"^incompatible input type for choices: x: float$"),
        (str, Input(choices=["a"]), r"^choices=\['a'\] must have >= 2 elements: x: str$"),
        (int, Input(choices=[1, 2], ge=0), r"^choices and ge/le are mutually exclusive: x: int$"),
        (
            str,
            Input(choices=["a", "b"], max_length=3),
            r"^choices and min_length/max_length are mutually exclusive: x: str$",
        ),
        (str, Input(choices=["a", 1]), r"^not all choices have the same type as input: x: str$"),
        (
            int,
            Input(choices=[True, False]),
            r"^not all choices have the same type as input: x: int$",
        ),
        (
            str,
            Input(accept="image/*"),
            r"^accept is only valid on Path or File inputs \(parameter 'x'\)$",
        ),
        (
            str | int,
            Input(ge=1),
            r"^constraints and choices are not supported on union inputs: x: str \| int$",
        ),
    ],
)
def test_constraint_rules(annotation, info, message):
    with pytest.raises(ValueError, match=message):
        field(annotation, info)


@pytest.mark.parametrize(
    ("annotation", "info", "message"),
    [
        (int, Input(default=1, ge=3), r"^invalid default for x: int: must be at minimum 3$"),
        (float, Input(default=2.5, le=2), r"^invalid default for x: float: must be at maximum 2$"),
        (
            list[int],
            Input(default=[5, 1], ge=2),
            r"^invalid default for x: List\[int\]: must be at minimum 2$",
        ),
        (
            str,
            Input(default="abcdef", max_length=5),
            r"^default conflicts with max_length=5 for input: x: str$",
        ),
        (
            str,
            Input(default="", min_length=1),
            r"^default conflicts with min_length=1 for input: x: str$",
        ),
        (str, Input(default="b", regex="^a"), r"^default not a regex match for input: x: str$"),
        (
            str,
            Input(default="c", choices=["a", "b"]),
            r"^invalid default for x: str: must be one of \['a', 'b'\]$",
        ),
        (int, Input(default="3"), r"^invalid default for x: int: '3' is not a valid int$"),
        (int, Input(default=True), r"^invalid default for x: int: True is not a valid int$"),
        (bool, 1, r"^invalid default for x: bool: 1 is not a valid bool$"),
        (
            list[str],
            Input(default="a"),
            r"^invalid default for x: List\[str\]: expected a list, got 'a'$",
        ),
    ],
)
def test_invalid_defaults_rejected(annotation, info, message):
    with pytest.raises(ValueError, match=message):
        field(annotation, info)


def test_valid_defaults_accepted():
    assert field(float, Input(default=1, ge=0, le=1)).default == 1
    assert field(str, Input(default="ab", regex="b")).default == "ab"  # search semantics
    assert field(Path, Input(default="weights.bin", accept=".bin")).accept == ".bin"
    assert field(list[Path], Input(accept="image/*")).accept == "image/*"
    assert field(str | int, 3).default == 3
    assert field(str | list[int], [1, 2]).default == [1, 2]
    assert field(str, Input(default=Color.BLUE, choices=[Color.RED, Color.BLUE])).choices == [
        "red",
        "blue",
    ]


def test_constraint_accessors():
    f = field(int, Input(default=3, description="D", ge=1, le=5, deprecated=True))
    assert (f.description, f.ge, f.le, f.deprecated, f.min_length, f.regex) == (
        "D",
        1,
        5,
        True,
        None,
        None,
    )
    plain = field(int, 3)
    assert (plain.field_info, plain.description, plain.ge, plain.accept) == (None, None, None, None)
