"""`encode_output`: the JSON-able form of every output kind, files through the hook (§1.10)."""
# ruff: noqa: UP007, UP045 - models write typing.Optional/Union; the tests must too

from __future__ import annotations

import dataclasses
import datetime
import enum
import io
import pathlib
from typing import Optional

import numpy as np
import pydantic
import pytest

import cog
from cog.coder import Coder
from cog.outputs import encode_output


def hook(value):
    if isinstance(value, io.IOBase):
        return f"file:{getattr(value, 'name', 'file')}"
    return f"path:{pathlib.Path(value).name}"


class Color(enum.Enum):
    RED = "red"


class Out(cog.BaseModel):
    text: str
    image: cog.Path
    extra: Optional[int] = None


@dataclasses.dataclass
class Plain:
    a: int
    files: list


class PydOut(pydantic.BaseModel):
    name: str
    file: pathlib.Path
    score: float = 1.0


def test_primitives_pass_through():
    for value in (None, True, 1, 1.5, "s"):
        assert encode_output(value, hook) == value


def test_containers_recursively():
    value = {"a": (1, 2), "b": [{"c": {3}}], Color.RED: frozenset()}
    assert encode_output(value, hook) == {"a": [1, 2], "b": [{"c": [3]}], "red": []}


def test_generators_become_lists():
    assert encode_output((i * 2 for i in range(3)), hook) == [0, 2, 4]


def test_enum_datetime_secret():
    when = datetime.datetime(2024, 1, 2, 3, 4, 5)
    assert encode_output(Color.RED, hook) == "red"
    assert encode_output(when, hook) == "2024-01-02T03:04:05"
    assert encode_output(datetime.date(2024, 1, 2), hook) == "2024-01-02"
    assert encode_output(cog.Secret("s3cret"), hook) == "s3cret"
    assert encode_output([cog.Secret()], hook) == [None]


def test_files_anywhere_go_through_the_hook():
    value = {
        "top": cog.Path("/tmp/a.png"),
        "list": [pathlib.Path("/x/b.txt"), io.BytesIO(b"x")],
        "nested": {"deep": [cog.Path("/y/c.wav")]},
    }
    assert encode_output(value, hook) == {
        "top": "path:a.png",
        "list": ["path:b.txt", "file:file"],
        "nested": {"deep": ["path:c.wav"]},
    }
    assert encode_output([cog.Path("/one.png")], hook) == [
        "path:one.png"
    ]  # a list of one stays a list


def test_cog_base_model_and_dataclass():
    out = Out(text="t", image=cog.Path("/i.png"))
    assert encode_output(out, hook) == {"text": "t", "image": "path:i.png", "extra": None}
    assert encode_output(Plain(1, [pathlib.Path("/f.bin")]), hook) == {
        "a": 1,
        "files": ["path:f.bin"],
    }


def test_cog_base_model_missing_required_field():
    with pytest.raises(ValueError, match=r"^missing value for output field: image$"):
        encode_output(Out(text="t", image=None), hook)  # type: ignore[arg-type]


def test_pydantic_models():
    value = PydOut(name="n", file=pathlib.Path("/w.safetensors"))
    assert encode_output(value, hook) == {"name": "n", "file": "path:w.safetensors", "score": 1.0}


def test_numpy_values():
    assert encode_output(np.int64(3), hook) == 3
    assert type(encode_output(np.float32(1.5), hook)) is float
    assert encode_output(np.arange(4).reshape(2, 2), hook) == [[0, 1], [2, 3]]
    assert encode_output({"a": np.bool_(True)}, hook) == {"a": True}


def test_coder_encoded_values():
    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

    class PointCoder(Coder):
        @staticmethod
        def factory(tpe):
            return PointCoder() if tpe is Point else None

        def encode(self, x):
            return {"x": x.x}

        def decode(self, x):
            return Point(x["x"])

    Coder.register(PointCoder)
    try:
        assert encode_output([Point(2)], hook) == [{"x": 2}]
    finally:
        Coder._coders.remove(PointCoder)


def test_subclasses_of_primitives_become_plain():
    class Name(str):
        pass

    out = encode_output([Name("a"), np.float64(0.5), {"k": Name("b")}], hook)
    assert out == ["a", 0.5, {"k": "b"}]
    assert [type(v) for v in out[:2]] == [str, float] and type(out[2]["k"]) is str
