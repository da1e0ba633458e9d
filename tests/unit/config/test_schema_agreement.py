"""The loader's verdict on structure agrees with Cog's JSON schema (checked with jsonschema)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cog.config import ConfigError, validate_document

jsonschema = pytest.importorskip("jsonschema")

REPO = Path(__file__).resolve().parents[3]
PACKAGED = REPO / "cog" / "data" / "config_schema_v1.0.json"
# Cog's own copy, in the shared folder beside the repository when it is there.
UPSTREAM = [
    base / "shared" / "data" / "cog-compat" / "config_schema_v1.0.json"
    for base in (REPO.parent, Path("/work"))
]

VALID: list[dict[str, Any]] = [
    {},
    {"build": {"python_version": "3.11"}},
    {"build": {"python_version": 3.12, "gpu": True, "cuda": "12.1", "cudnn": "8"}},
    {"build": {"python_version": "3.13", "system_packages": None, "run": None}},
    {
        "build": {
            "python_version": "3.11",
            "run": ["echo a", {"command": "echo b"}, {"command": "c", "mounts": []}],
            "python_packages": ["numpy==1.26.4"],
        }
    },
    {"run": "predict.py:Runner", "train": "train.py:Trainer", "image": "r8.im/a/b"},
    {"predict": "predict.py:Predictor", "environment": ["A=1", "_B=", "C=x y"]},
    {"concurrency": {"max": 1, "default_target": 1}},
    {
        "model": "a/b",
        "weights": [
            {"name": "w", "target": "/w", "source": {"uri": "hf://x/y"}},
            {"name": "v", "target": "/v", "source": [{"uri": "/d", "include": ["*.bin"]}]},
        ],
    },
]

INVALID: list[dict[str, Any]] = [
    {"bogus": 1},
    {"build": {"python_version": "3.11", "bogus": True}},
    {"build": {"gpu": True}},
    {"build": {"python_version": "3.11", "gpu": "yes"}},
    {"build": {"python_version": "3.11", "cuda": 11.8}},
    {"build": {"python_version": "3.11", "run": [{"mounts": []}]}},
    {"build": {"python_version": "3.11", "run": [{"command": "x", "mounts": [{"id": "a"}]}]}},
    {"build": {"python_version": "3.11", "system_packages": "ffmpeg"}},
    {"run": "a.py:A", "predict": "b.py:B"},
    {"run": ["a.py:A"]},
    {"concurrency": {"default_target": 1}},
    {"concurrency": {"max": 1.5}},
    {"environment": ["NOEQUALS"]},
    {"environment": "A=1"},
    {"weights": [{"name": "w", "target": "/w"}]},
    {"weights": [{"name": "w", "target": "/w", "source": []}]},
    {"weights": [{"name": "W", "target": "/w", "source": {"uri": "x"}}]},
    {"weights": [{"name": "w", "target": "/w", "source": {"uri": "x", "more": 1}}]},
]

# Deprecated keys appear on purpose; the warnings themselves are tested in test_errors.py.
pytestmark = pytest.mark.filterwarnings("ignore::cog.config.ConfigWarning")


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = json.loads(PACKAGED.read_text())
    return jsonschema.Draft7Validator(schema)


def test_packaged_schema_is_cogs(validator: Any) -> None:
    upstream = next((p for p in UPSTREAM if p.is_file()), None)
    if upstream is None:
        pytest.skip("Cog's data folder is not beside this checkout")
    assert json.loads(upstream.read_text()) == validator.schema


@pytest.mark.parametrize("document", VALID, ids=[json.dumps(d)[:60] for d in VALID])
def test_valid_documents(validator: Any, document: dict[str, Any]) -> None:
    assert list(validator.iter_errors(document)) == []
    config = validate_document(document)
    # What the loader produces is itself valid for the schema.
    assert list(validator.iter_errors(config.to_document())) == []


@pytest.mark.parametrize("document", INVALID, ids=[json.dumps(d)[:60] for d in INVALID])
def test_invalid_documents(validator: Any, document: dict[str, Any]) -> None:
    assert list(validator.iter_errors(document)) != []
    with pytest.raises(ConfigError):
        validate_document(document)
