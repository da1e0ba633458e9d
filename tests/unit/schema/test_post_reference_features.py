"""Schema of features newer than Cog 0.16, checked against the spec (§1.4, §1.6-1.10, §2)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cog import BaseModel, ConcatenateIterator
from cog.schema import OutputTypeError
from cog.schema.outputs import output_component

Describe = Callable[..., dict[str, Any]]


def schemas(document: dict[str, Any]) -> dict[str, Any]:
    return document["components"]["schemas"]


SYNC = """
from cog import BaseRunner, Input


class Runner(BaseRunner):
    def setup(self) -> None:
        pass

    def run(self, text: str = Input(description="Text"), n: int = 2) -> str:
        return text * n
"""


def test_base_runner_run_is_described_like_a_predictor(describe: Describe) -> None:
    s = schemas(describe(SYNC))
    assert s["Input"] == {
        "title": "Input",
        "type": "object",
        "required": ["text"],
        "properties": {
            "text": {"title": "Text", "type": "string", "description": "Text", "x-order": 0},
            "n": {"title": "N", "type": "integer", "default": 2, "x-order": 1},
        },
    }
    assert s["Output"] == {"title": "Output", "type": "string"}


def test_async_setup_and_run_do_not_change_the_schema(describe: Describe) -> None:
    source = SYNC.replace("def setup", "async def setup").replace("def run", "async def run")
    assert "async def run" in source
    assert describe(source) == describe(SYNC)


def test_streaming_marks_the_predictions_operation(describe: Describe) -> None:
    source = "import cog\n" + SYNC.replace("    def run", "    @cog.streaming\n    def run")
    doc = describe(source)
    assert doc["paths"]["/predictions"]["post"]["x-cog-streaming"] is True
    assert "x-cog-streaming" not in describe(SYNC)["paths"]["/predictions"]["post"]


def test_streaming_called_form(describe: Describe) -> None:
    source = "import cog\n" + SYNC.replace("    def run", "    @cog.streaming()\n    def run")
    assert describe(source)["paths"]["/predictions"]["post"]["x-cog-streaming"] is True


def test_concurrent_does_not_change_the_schema(describe: Describe) -> None:
    source = "import cog\n" + SYNC.replace(
        "    def run", "    @cog.concurrent(max=4)\n    async def run"
    ).replace("async def run", "async def run", 1)
    plain = describe(SYNC)
    doc = describe(source)
    assert schemas(doc)["Input"] == schemas(plain)["Input"]
    assert doc["paths"] == plain["paths"]


def test_accept_and_deprecated(describe: Describe) -> None:
    doc = describe(
        """
        from typing import Optional

        from cog import BaseRunner, File, Input, Path


        class Runner(BaseRunner):
            def run(
                self,
                image: Path = Input(accept="image/*"),
                weights: Optional[File] = Input(default=None, accept=".safetensors,.bin"),
                old: int = Input(default=1, deprecated=True),
                kept: int = Input(default=1, deprecated=False),
            ) -> str:
                return ""
        """
    )
    props = schemas(doc)["Input"]["properties"]
    assert props["image"] == {
        "title": "Image",
        "type": "string",
        "format": "uri",
        "x-cog-accept": "image/*",
        "x-order": 0,
    }
    assert props["weights"]["x-cog-accept"] == ".safetensors,.bin"
    assert props["weights"]["nullable"] is True
    assert props["old"]["deprecated"] is True
    assert "deprecated" not in props["kept"]


def test_async_iterator_outputs(describe: Describe) -> None:
    doc = describe(
        """
        from typing import AsyncIterator

        from cog import BaseRunner


        class Runner(BaseRunner):
            async def run(self) -> AsyncIterator[int]:
                yield 1
        """
    )
    assert schemas(doc)["Output"] == {
        "title": "Output",
        "type": "array",
        "items": {"type": "integer"},
        "x-cog-array-type": "iterator",
    }


def test_async_concatenate_iterator(describe: Describe) -> None:
    doc = describe(
        """
        from cog import AsyncConcatenateIterator, BaseRunner


        class Runner(BaseRunner):
            async def run(self) -> AsyncConcatenateIterator[str]:
                yield "a"
        """
    )
    assert schemas(doc)["Output"] == {
        "title": "Output",
        "type": "array",
        "items": {"type": "string"},
        "x-cog-array-type": "iterator",
        "x-cog-array-display": "concatenate",
    }


def test_opaque_json_inputs_are_objects(describe: Describe) -> None:
    doc = describe(
        """
        from typing import Annotated, Any, Dict, Optional, TypedDict

        from cog import BaseRunner, Input, Opaque


        class Options(TypedDict):
            k: int


        class Runner(BaseRunner):
            def run(
                self,
                a: dict,
                b: Dict[str, Any],
                c: Any,
                d: Options,
                e: Annotated[Any, Opaque],
                f: Annotated[list[Any], Opaque] = Input(default=[]),
                g: Optional[dict] = None,
            ) -> str:
                return ""
        """
    )
    props = schemas(doc)["Input"]["properties"]
    for name in "abcde":
        assert props[name]["type"] == "object", name
    assert props["f"]["type"] == "array" and props["f"]["items"] == {"type": "object"}
    assert props["g"]["nullable"] is True
    assert schemas(doc)["Input"]["required"] == ["a", "b", "c", "d", "e"]


def test_json_native_unions(describe: Describe) -> None:
    doc = describe(
        """
        from cog import BaseRunner


        class Runner(BaseRunner):
            def run(self, x: str | int | list[str], y: int | float | None = None, z: bool | dict | None = None) -> str:
                return ""
        """
    )
    props = schemas(doc)["Input"]["properties"]
    assert props["x"]["anyOf"] == [
        {"type": "string"},
        {"type": "integer"},
        {"type": "array", "items": {"type": "string"}},
    ]
    assert props["y"] == {
        "title": "Y",
        "anyOf": [{"type": "integer"}, {"type": "number"}],
        "nullable": True,
        "x-order": 1,
    }
    assert props["z"]["anyOf"] == [{"type": "boolean"}, {"type": "object"}]
    assert schemas(doc)["Input"]["required"] == ["x"]
    assert '"null"' not in str(doc).replace("'", '"')


def test_ndarray_extension(describe: Describe) -> None:
    doc = describe(
        """
        from typing import Annotated

        import numpy as np

        from cog import BaseRunner


        class Runner(BaseRunner):
            def run(
                self,
                a: np.ndarray,
                b: Annotated[np.ndarray, np.uint8, (2, None)],
                c: Annotated[np.ndarray, "bool"],
            ) -> np.ndarray:
                return a
        """
    )
    props = schemas(doc)["Input"]["properties"]
    assert props["a"] == {
        "title": "A",
        "type": "array",
        "items": {},
        "x-cog-array-type": "ndarray",
        "x-cog-ndarray": {},
        "x-order": 0,
    }
    assert props["b"] == {
        "title": "B",
        "type": "array",
        "minItems": 2,
        "maxItems": 2,
        "items": {"type": "array", "items": {"type": "integer"}},
        "x-cog-array-type": "ndarray",
        "x-cog-ndarray": {"dtype": "uint8", "shape": [2, None]},
        "x-order": 1,
    }
    assert props["c"]["x-cog-ndarray"] == {"dtype": "bool"}
    assert schemas(doc)["Output"] == {
        "title": "Output",
        "type": "array",
        "items": {},
        "x-cog-array-type": "ndarray",
        "x-cog-ndarray": {},
    }


def test_bad_ndarray_hint_is_a_clear_error(describe: Describe) -> None:
    source = """
        from typing import Annotated

        import numpy as np

        from cog import BaseRunner


        class Runner(BaseRunner):
            def run(self, a: Annotated[np.ndarray, (2, -1)]) -> str:
                return ""
        """
    with pytest.raises(ValueError, match=r"ndarray shape hint \(2, -1\) must hold sizes"):
        describe(source)


def test_output_objects(describe: Describe) -> None:
    doc = describe(
        """
        from typing import Optional, TypedDict

        import pydantic
        from typing_extensions import NotRequired

        from cog import BaseModel, BaseRunner


        class Node(BaseModel):
            name: str
            child: Optional["Node"] = None


        class Stats(TypedDict):
            mean: float
            note: NotRequired[str]


        class Plain(pydantic.BaseModel):
            score: float
            tags: list[str] = []


        class Output(BaseModel):
            tree: Node
            stats: Stats
            plain: Plain
            table: dict[str, list[int]]


        class Runner(BaseRunner):
            def run(self) -> Output:
                raise NotImplementedError
        """
    )
    out = schemas(doc)["Output"]
    assert out["title"] == "Output" and out["required"] == ["tree", "stats", "plain", "table"]
    tree = out["properties"]["tree"]
    assert tree["title"] == "Node"
    assert tree["properties"]["child"] == {"type": "object", "nullable": True, "title": "Child"}
    stats = out["properties"]["stats"]
    assert stats["required"] == ["mean"] and stats["title"] == "Stats"
    plain = out["properties"]["plain"]
    assert plain["properties"]["tags"] == {
        "title": "Tags",
        "type": "array",
        "items": {"type": "string"},
        "default": [],
    }
    assert plain["required"] == ["score"]
    assert out["properties"]["table"] == {
        "title": "Table",
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "integer"}},
    }


class Unresolvable(BaseModel):
    x: NoSuchType  # type: ignore[name-defined]  # noqa: F821


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        (str | None, "output must not be Optional"),
        (str | int, "output must not be a union"),
        (ConcatenateIterator[int], "ConcatenateIterator must have str element"),
        (Iterator[str | None], "iterator element must not be Optional or a list"),
        (set, "unsupported output type: set"),
        (list[frozenset], "unsupported output type: frozenset"),
        (Unresolvable, "cannot resolve the field annotations of output type Unresolvable"),
    ],
)
def test_unsupported_outputs(annotation: Any, message: str) -> None:
    with pytest.raises(OutputTypeError, match=message):
        output_component(annotation)


class Node(BaseModel):
    name: str
    children: list[Node]


def test_recursive_models_end_in_an_object() -> None:
    schema = output_component(Node)
    assert schema["title"] == "Node"
    assert schema["properties"]["children"] == {
        "title": "Children",
        "type": "array",
        "items": {"type": "object"},
    }


def test_function_trainer_and_class_trainer_together(describe: Describe, tmp_path: Any) -> None:
    (tmp_path / "train.py").write_text(
        "from cog import Path\n\n\ndef train(steps: int = 1) -> Path:\n    return Path('w')\n"
    )
    doc = describe(SYNC, train="train.py:train")
    s = schemas(doc)
    assert s["TrainingInput"]["properties"]["steps"]["default"] == 1
    assert s["TrainingOutput"] == {"title": "TrainingOutput", "type": "string", "format": "uri"}
    assert {"/trainings", "/trainings/{training_id}", "/trainings/{training_id}/cancel"} <= set(
        doc["paths"]
    )
    assert "x-cog-streaming" not in doc["paths"]["/trainings"]["post"]
