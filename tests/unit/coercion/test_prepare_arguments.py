"""Worker-side conversion of validated JSON values into what the model's signature asks for."""

from __future__ import annotations

import base64
import io
import pathlib
import textwrap
from pathlib import Path as StdPath

import numpy as np
import pytest

import cog
from cog.coercion import prepare_arguments, validate_input
from cog.loader import Runner, load_runner
from cog.schema import openapi_schema

FIXTURES = StdPath(__file__).resolve().parents[2] / "fixtures" / "predictors"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def runner(fixture: str, ref: str = "predict.py:Predictor") -> Runner:
    return load_runner(ref, FIXTURES / fixture)


def prepared(r: Runner, payload: dict, downloads: list | None = None) -> dict:
    """The full path a request takes: edge validation, then worker conversion."""
    values = validate_input(openapi_schema(r), payload)
    return prepare_arguments(r, values, downloads=downloads)


def data_url(raw: bytes, mime: str = "text/plain") -> str:
    return f"data:{mime};base64," + base64.b64encode(raw).decode()


def test_floats_and_ints() -> None:
    args = prepared(runner("scalar_types"), {"s": "a", "i": 1, "f": 2, "b": False})
    assert type(args["f"]) is float and args["f"] == 2.0
    assert type(args["i"]) is int
    assert type(args["f_int_def"]) is float  # an int default of a float input too
    assert args["b"] is False


def test_local_paths_become_cog_paths(tmp_path: StdPath) -> None:
    image = tmp_path / "in.png"
    image.write_bytes(b"png")
    doc = tmp_path / "doc.txt"
    doc.write_text("hello")
    args = prepared(runner("path_file"), {"image": str(image), "doc": str(doc), "mask": str(image)})
    assert isinstance(args["image"], cog.Path) and args["image"] == image
    assert args["doc"].read() == b"hello"
    args["doc"].close()


def test_data_urls_are_downloaded_keeping_the_extension() -> None:
    downloads: list[pathlib.Path] = []
    args = prepared(
        runner("path_file"),
        {"image": data_url(b"abc"), "doc": data_url(b"doc bytes")},
        downloads,
    )
    try:
        assert isinstance(args["image"], cog.Path)
        assert args["image"].name.endswith("file.txt")
        assert args["image"].read_bytes() == b"abc"
        assert args["mask"].read_bytes() == b"mask"  # the default is a data URL too
        assert downloads == [args["image"], args["mask"]]
        assert isinstance(args["doc"], io.IOBase) and args["doc"].read() == b"doc bytes"
    finally:
        for path in downloads:
            path.unlink()


def test_lists_of_paths_and_optional_lists(tmp_path: StdPath) -> None:
    files = [tmp_path / "a.png", tmp_path / "b.png"]
    for f in files:
        f.write_bytes(b"x")
    args = prepared(runner("list_inputs"), {"words": ["w"], "images": [str(f) for f in files]})
    assert args["images"] == files and all(isinstance(p, cog.Path) for p in args["images"])
    assert args["maybe_images"] is None
    assert args["floats"] == [0.5]


def test_secrets_are_wrapped() -> None:
    args = prepared(runner("secret_inputs"), {"api_key": "k"})
    assert isinstance(args["api_key"], cog.Secret)
    assert args["api_key"].get_secret_value() == "k"
    assert str(args["api_key"]) == "**********"
    assert args["maybe_key"] is None
    assert args["default_key"].get_secret_value() == "sekrit"


def test_choices_are_plain_values() -> None:
    args = prepared(runner("choices_int"), {"count": 2})
    assert args == {"size": 512, "count": 2} and type(args["count"]) is int
    args = prepared(runner("literal_choices"), {"color": "blue"})
    assert args["color"] == "blue" and type(args["color"]) is str


def test_union_values_pass_unchanged() -> None:
    args = prepared(runner("union_inputs"), {"value": 3, "number": 2})
    assert args == {"value": 3, "number": 2, "flag": True} and type(args["number"]) is int


def test_ndarray_from_nested_lists_npy_data_urls_bytes_and_files(tmp_path: StdPath) -> None:
    r = runner("ndarray_input", "run.py:Runner")
    args = prepared(r, {"values": [1, 2, 3], "matrix": [[1, 2, 3], [4, 5, 6]]})
    assert isinstance(args["values"], np.ndarray) and args["values"].tolist() == [1, 2, 3]
    assert args["matrix"].dtype == np.float32 and args["matrix"].shape == (2, 3)

    buf = io.BytesIO()
    np.save(buf, np.arange(6, dtype=np.int16).reshape(2, 3))
    npy = buf.getvalue()
    args = prepared(r, {"values": data_url(npy, "application/octet-stream"), "matrix": [[0, 0, 0]]})
    assert args["values"].dtype == np.int16 and args["values"].shape == (2, 3)

    args = prepare_arguments(r, {"values": npy, "matrix": np.ones((1, 3))})
    assert args["values"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert args["matrix"].dtype == np.float32  # cast to the annotated dtype

    path = tmp_path / "v.npy"
    np.save(path, np.array([7.5]))
    assert prepare_arguments(r, {"values": str(path), "matrix": [[1, 2, 3]]})[
        "values"
    ].tolist() == [7.5]


def test_enum_annotations_get_members(tmp_path: StdPath) -> None:
    (tmp_path / "run.py").write_text(
        textwrap.dedent(
            """
            import enum

            from cog import BaseRunner


            class Color(enum.Enum):
                RED = "red"
                BLUE = "blue"


            class Runner(BaseRunner):
                def run(self, color: Color = Color.RED) -> str:
                    return color.value
            """
        )
    )
    r = load_runner("run.py:Runner", tmp_path)
    args = prepared(r, {"color": "blue"})
    assert args["color"] is r.module.Color.BLUE
    assert prepared(r, {})["color"] is r.module.Color.RED
