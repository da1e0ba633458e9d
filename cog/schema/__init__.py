"""OpenAPI 3.0.2 documents for predictors and trainers (spec §2).

`openapi_schema` describes loaded runners; `schema_for_project` loads them first. The
`Input`/`Output` components match what Cog has always published for the same code; see
docs/schema.md for the few deliberate differences and cogpy's extensions.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from cog.schema.document import base_document, mode_paths
from cog.schema.inputs import input_components
from cog.schema.outputs import OutputTypeError, output_component

if TYPE_CHECKING:
    from cog.loader import Runner

__all__ = ["OutputTypeError", "openapi_schema", "schema_for_project"]


def openapi_schema(predict: Runner | None, train: Runner | None = None) -> dict[str, Any]:
    """The document for a predictor and/or a trainer; on a name clash the predictor wins."""
    document = base_document()
    schemas: dict[str, Any] = document["components"]["schemas"]
    for runner, training in ((predict, False), (train, True)):
        if runner is None:
            continue
        input_name, output_name = (
            ("TrainingInput", "TrainingOutput") if training else ("Input", "Output")
        )
        component, enums = input_components(runner.inputs.values(), input_name)
        paths, envelope = mode_paths(training=training, streaming=runner.streaming and not training)
        document["paths"].update(paths)
        additions = {
            input_name: component,
            output_name: output_component(runner.output_type, output_name),
            **enums,
            **envelope,
        }
        for name, schema in additions.items():
            schemas.setdefault(name, schema)
    return document


def schema_for_project(
    project_dir: str | os.PathLike[str], predict_ref: str | None, train_ref: str | None = None
) -> dict[str, Any]:
    """Load the project's runners (without running setup) and describe them."""
    from cog.loader import load_runner

    predict = load_runner(predict_ref, project_dir, mode="predict") if predict_ref else None
    train = load_runner(train_ref, project_dir, mode="train") if train_ref else None
    return openapi_schema(predict, train)
