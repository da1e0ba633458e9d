"""Differential test: our Input/Output components against cog==0.16.12 for the same code.

Each fixture project under tests/fixtures/predictors is described by the reference Cog
(`python -m cog.command.openapi_schema` in its own venv) and by `cog.schema`; the
components must be equal once `$ref`s are resolved. The few deliberate differences are
listed in docs/schema.md and applied here, narrowly, by `_known_differences`.
"""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from benchmarks.reference import SCHEMA_REFERENCE, reference_python
from cog.schema import schema_for_project

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "predictors"

# The fixtures use the legacy spellings the reference knows (predict, BasePredictor).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

# Fixtures for features newer than the reference (it cannot describe them); their
# schemas are checked against the spec in tests/unit/schema.
NEWER_THAN_REFERENCE = {"out_async_iterator", "modern_runner", "ndarray_input", "opaque_inputs"}

IO_COMPONENTS = {"Input", "Output", "TrainingInput", "TrainingOutput"}
ENVELOPE = {
    "HTTPValidationError",
    "ValidationError",
    "PredictionRequest",
    "PredictionResponse",
    "TrainingRequest",
    "TrainingResponse",
    "Status",
    "WebhookEvent",
}


def _fixtures() -> list[str]:
    return sorted(p.parent.name for p in FIXTURES.glob("*/cog.yaml"))


@functools.cache
def _reference_schema(name: str) -> dict[str, Any]:
    """The reference's document for one fixture, computed once per test session."""
    proc = subprocess.run(
        [str(reference_python(SCHEMA_REFERENCE)), "-m", "cog.command.openapi_schema"],
        cwd=FIXTURES / name,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"reference failed on {name}:\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout)


def _refs(name: str) -> tuple[str | None, str | None]:
    import yaml

    config = yaml.safe_load((FIXTURES / name / "cog.yaml").read_text())
    return config.get("run") or config.get("predict"), config.get("train")


def resolve(node: Any, components: dict[str, Any]) -> Any:
    """Inline every `$ref` (siblings win) and merge single-element `allOf` into its parent."""
    if isinstance(node, list):
        return [resolve(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "$ref" in node:
        target = components[node.pop("$ref").rsplit("/", 1)[1]]
        node = {**target, **node}
        return resolve(node, components)
    if "allOf" in node and len(node["allOf"]) == 1:
        (inner,) = node.pop("allOf")
        node = {**resolve(inner, components), **node}
    return {key: resolve(value, components) for key, value in node.items()}


def canonical(value: Any) -> Any:
    """Compare numbers by value (1 == 1.0, as JSON does) but never a bool with a number."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", float(value))
    if isinstance(value, dict):
        return {key: canonical(v) for key, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def _known_differences(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Apply the deliberate differences of docs/schema.md to the reference's components."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            # 1. the reference leaves an empty (invalid) `anyOf: []` in Optional[List[Path]] items
            if node.get("anyOf") == []:
                del node["anyOf"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(theirs)
    # 2. the reference drops the default of a Literal[...] input; we keep it
    for component in ("Input", "TrainingInput"):
        our_props = ours.get(component, {}).get("properties", {})
        for name, prop in theirs.get(component, {}).get("properties", {}).items():
            mine = our_props.get(name, {})
            if "enum" in prop and "default" not in prop and "default" in mine:
                prop["default"] = mine["default"]


def _components(document: dict[str, Any]) -> dict[str, Any]:
    """The input/output components and the enum components of choices, resolved.

    Object components the reference emits for nested models are compared where they are
    used (inside Output), since we inline them.
    """
    schemas = document["components"]["schemas"]
    return {
        name: resolve(schema, schemas)
        for name, schema in schemas.items()
        if name in IO_COMPONENTS or (name not in ENVELOPE and "enum" in schema)
    }


@pytest.mark.reference
@pytest.mark.parametrize("name", [n for n in _fixtures() if n not in NEWER_THAN_REFERENCE])
def test_components_match_reference(name: str) -> None:
    predict_ref, train_ref = _refs(name)
    ours = _components(schema_for_project(FIXTURES / name, predict_ref, train_ref))
    theirs = _components(_reference_schema(name))
    _known_differences(ours, theirs)
    assert sorted(ours) == sorted(theirs)
    for component in sorted(theirs):
        assert canonical(ours[component]) == canonical(theirs[component]), (
            f"{component} of {name} differs:\n ours:   {json.dumps(ours[component], sort_keys=True)}"
            f"\n theirs: {json.dumps(theirs[component], sort_keys=True)}"
        )


def test_fixture_set_covers_the_differential_minimum() -> None:
    assert len([n for n in _fixtures() if n not in NEWER_THAN_REFERENCE]) >= 30
