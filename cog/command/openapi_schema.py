"""`python -m cog.command.openapi_schema`: print the OpenAPI schema of the project here.

Reads `predict`/`run` and `train` from cog.yaml (this directory or a parent). Output the
model's code prints while loading goes to stderr, so stdout holds only the JSON document.
"""

from __future__ import annotations

import contextlib
import json
import sys

from cog.config import ConfigError, load_config
from cog.schema import schema_for_project


def main() -> int:
    try:
        config, project_dir = load_config()
    except ConfigError as exc:
        print(f"cog.yaml: {exc}", file=sys.stderr)
        return 1
    if config.predict_ref is None and config.train_ref is None:
        print("cog.yaml sets neither run/predict nor train: nothing to describe", file=sys.stderr)
        return 1
    try:
        with contextlib.redirect_stdout(sys.stderr):
            schema = schema_for_project(project_dir, config.predict_ref, config.train_ref)
    except Exception as exc:
        print(f"cannot build the OpenAPI schema: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(schema, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
