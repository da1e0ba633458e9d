"""`cog build`, and the image builds behind predict/train/serve/exec/push (spec §6.1, §7.2)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from cog.build import generate_build, image_labels, write_staged
from cog.cli.console import info, warn
from cog.cli.context import runtime_wheel, stage_context
from cog.cli.errors import CLIError
from cog.cli.progress import BuildProgress
from cog.cli.project import Project, image_name_for_dir, load_project
from cog.engine import BuildError, Engine

DOCKERFILE_NAME = ".cog/build/Dockerfile"


def run(args: argparse.Namespace) -> int:
    from cog.engine import connect

    project = load_project(args.file)
    name = args.tag or project.default_image_name()
    info(f"Building Docker image from environment in cog.yaml as {name}...")
    engine = connect()
    ref = build_image(project, engine, args, dev=False, tag=name)
    info(f"Image built as {ref}")
    return 0


def build_image(
    project: Project,
    engine: Engine,
    args: argparse.Namespace,
    *,
    dev: bool,
    tag: str | None = None,
) -> str:
    """Build the project's image and return its name. Dev images (for predict/serve/exec
    from a project directory) leave the source out: it is bind-mounted at /src."""
    if not project.predict_ref and not project.train_ref:
        raise CLIError(
            'no predict or train reference found in cog.yaml: add run: "predict.py:Predictor"'
        )
    if args.separate_weights:
        raise CLIError("--separate-weights is not supported by this cog yet; build without it")
    if args.secret:
        raise CLIError(
            "--secret needs BuildKit secret mounts, which the Docker Engine API build used "
            "here does not pass on; bake the value with an environment variable instead"
        )
    schema = None if dev else _schema(project, args)
    tag = tag or image_name_for_dir(project.root.name) + "-dev"
    context = stage_context(project.root, include_source=not dev)
    try:
        plan = generate_build(
            project.config,
            project.root,
            runtime_wheel=runtime_wheel(),
            dev=dev,
            config_filename=project.config_file,
        )
        write_staged(plan, context)
        (context / DOCKERFILE_NAME).write_text(plan.dockerfile)
        if schema is not None:
            (context / ".cog" / "openapi_schema.json").write_text(json.dumps(schema, indent=2))
        labels = {} if dev or schema is None else _labels(project, schema)
        progress = BuildProgress(args.progress)
        try:
            result = engine.build(
                str(context),
                DOCKERFILE_NAME,
                tag=tag,
                labels=labels,
                no_cache=args.no_cache,
                on_line=progress.line,
            )
        finally:
            progress.done()
    except BuildError as exc:
        raise CLIError(str(exc)) from exc
    finally:
        shutil.rmtree(context, ignore_errors=True)
    if not dev and schema is None:
        _label_with_schema_from_image(project, engine, tag, result.image_id)
    return tag


def _schema(project: Project, args: argparse.Namespace) -> dict[str, Any] | None:
    """The schema from --openapi-schema / COG_OPENAPI_SCHEMA, or generated on this host; a
    broken predictor fails here, before any image is built."""
    source = args.openapi_schema or os.environ.get("COG_OPENAPI_SCHEMA")
    if source:
        try:
            with open(source, encoding="utf-8") as f:
                loaded = json.load(f)
        except (OSError, ValueError) as exc:
            raise CLIError(f"cannot read the OpenAPI schema file {source}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise CLIError(f"{source} does not hold an OpenAPI document (a JSON object)")
        return loaded
    schema = project.schema()
    if schema is None:
        error = project.schema_error or "unknown error"
        if "cannot import" in error:
            # The model's own dependencies are only in the image: generate it there.
            warn(f"Generating the schema inside the image: {error}")
            return None
        raise CLIError(f"Failed to generate the model's OpenAPI schema: {error}")
    return schema


def _labels(project: Project, schema: dict[str, Any]) -> dict[str, str]:
    labels = image_labels(project.config, project.root, schema)
    revision = _git(project.root, "rev-parse", "HEAD")
    if revision:
        labels["org.opencontainers.image.revision"] = revision
        tag = _git(project.root, "describe", "--tags", "--exact-match")
        if tag:
            labels["org.opencontainers.image.version"] = tag
    return labels


def _git(cwd: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _label_with_schema_from_image(project: Project, engine: Engine, tag: str, image: str) -> None:
    """Generate the schema inside the built image, then layer it and the labels on top."""
    container = engine.run_detached(
        image,
        command=["python", "-m", "cog.command.openapi_schema"],
        workdir="/src",
    )
    code = container.wait()
    output = container.logs()
    container.remove()
    try:
        schema = json.loads(output[output.index("{") :]) if code == 0 else None
    except ValueError:
        schema = None
    if not isinstance(schema, dict):
        raise CLIError(f"Failed to generate the model's OpenAPI schema in the image:\n{output}")
    context = stage_context(project.root, include_source=False)
    try:
        (context / ".cog" / "openapi_schema.json").write_text(json.dumps(schema, indent=2))
        (context / DOCKERFILE_NAME).write_text(
            f"FROM {image}\nCOPY .cog/openapi_schema.json /src/.cog/openapi_schema.json\n"
        )
        try:
            engine.build(str(context), DOCKERFILE_NAME, tag=tag, labels=_labels(project, schema))
        except BuildError as exc:
            raise CLIError(str(exc)) from exc
    finally:
        shutil.rmtree(context, ignore_errors=True)
