"""`x: T = Input(default=None)` on a non-Optional type: the model gets None (spec §8.3)."""

from __future__ import annotations

import textwrap
from pathlib import Path as StdPath

import pytest

from cog.coercion import prepare_arguments, validate_input
from cog.loader import load_runner
from cog.schema import openapi_schema

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PREDICTOR = """
import numpy as np

from cog import BasePredictor, File, Input, Path, Secret


class Predictor(BasePredictor):
    def predict(
        self,
        prompt: str = "x",
        seed: int = Input(default=None),
        scale: float = Input(default=None),
        image: Path = Input(default=None),
        doc: File = Input(default=None),
        token: Secret = Input(default=None),
        images: list[Path] = Input(default=None),
    ) -> str:
        return prompt
"""


@pytest.fixture
def runner(tmp_path: StdPath):
    (tmp_path / "predict.py").write_text(textwrap.dedent(PREDICTOR))
    return load_runner("predict.py:Predictor", tmp_path)


def test_omitted_inputs_defaulting_to_none_arrive_as_none(runner) -> None:
    schema = openapi_schema(runner)
    assert schema["components"]["schemas"]["Input"].get("required", []) == []
    args = prepare_arguments(runner, validate_input(schema, {}))
    assert args == {
        "prompt": "x",
        "seed": None,
        "scale": None,
        "image": None,
        "doc": None,
        "token": None,
        "images": None,
    }


def test_given_values_are_still_converted(runner, tmp_path: StdPath) -> None:
    image = tmp_path / "in.png"
    image.write_bytes(b"png")
    values = validate_input(
        openapi_schema(runner), {"scale": 2, "image": str(image), "token": "s3cret"}
    )
    args = prepare_arguments(runner, values)
    assert type(args["scale"]) is float and args["scale"] == 2.0
    assert args["image"].read_bytes() == b"png"
    assert args["token"].get_secret_value() == "s3cret"
