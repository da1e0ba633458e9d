"""The `run.cog.*` labels of a built image (spec §6.1), which `cog predict`, Replicate and
other tools read instead of starting the container."""

from __future__ import annotations

import json
import os
from typing import Any

from cog._version import __version__
from cog.build.dockerfile import resolve
from cog.config import Config

LABEL_VERSION = "run.cog.version"
LABEL_CONFIG = "run.cog.config"
LABEL_OPENAPI_SCHEMA = "run.cog.openapi_schema"
LABEL_HAS_INIT = "run.cog.has_init"


def effective_config(
    config: Config, project_dir: str | os.PathLike[str], *, max_concurrency: int | None = None
) -> dict[str, Any]:
    """cog.yaml as the image was built from it: resolved CUDA/cuDNN for GPU images, and the
    `@cog.concurrent` limit when cog.yaml sets none."""
    document = config.to_document()
    gpu, _ = resolve(config, project_dir)
    if gpu is not None:
        document["build"] = {**document["build"], "cuda": gpu.cuda, "cudnn": gpu.cudnn}
    if config.concurrency is None and max_concurrency is not None and max_concurrency > 1:
        document["concurrency"] = {"max": max_concurrency}
    return document


def image_labels(
    config: Config,
    project_dir: str | os.PathLike[str],
    schema: dict[str, Any],
    *,
    max_concurrency: int | None = None,
    version: str = __version__,
) -> dict[str, str]:
    """Labels for an image built from `config`, with `schema` its OpenAPI document."""
    compact = {"separators": (",", ":")}
    document = effective_config(config, project_dir, max_concurrency=max_concurrency)
    return {
        LABEL_VERSION: version,
        LABEL_CONFIG: json.dumps(document, **compact),  # type: ignore[arg-type]
        LABEL_OPENAPI_SCHEMA: json.dumps(schema, **compact),  # type: ignore[arg-type]
        LABEL_HAS_INIT: "true",
    }
