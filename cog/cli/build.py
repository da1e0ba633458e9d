"""`cog build`, and the image builds behind predict/train/serve/exec/push (spec §6.1, §7.2)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from cog.build import (
    WeightPaths,
    find_weights,
    generate_build,
    image_labels,
    weights_dockerfile,
    write_staged,
)
from cog.cli.console import info, warn
from cog.cli.context import check_wheel_python, runtime_wheel, stage_context, stage_paths
from cog.cli.errors import CLIError
from cog.cli.progress import BuildProgress
from cog.cli.project import Project, image_name_for_dir, load_project
from cog.engine import BuildError, BuildResult, Engine, connect

DOCKERFILE_NAME = ".cog/build/Dockerfile"


def run(args: argparse.Namespace) -> int:
    project = load_project(args.file)
    name = args.tag or project.default_image_name()
    info(f"Building Docker image from environment in cog.yaml as {name}...")
    ref = build_image(project, args, dev=False, tag=name)
    info(f"Image built as {ref}")
    return 0


def build_image(
    project: Project,
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
    secrets = parse_secrets(args.secret)
    schema = None if dev else _schema(project, args)
    tag = tag or image_name_for_dir(project.root.name) + "-dev"
    wheel = runtime_wheel()
    check_wheel_python(wheel, project.config.python_version)
    # Everything above needs no engine: mistakes are reported before one is looked for.
    engine = connect()
    weights = weights_image = None
    if args.separate_weights and not dev:
        weights = find_weights(project.root)
        if weights.paths:
            weights_image = weights_ref(tag)
            _build_weights(project, engine, weights, weights_image, args)
        else:
            warn("--separate-weights: no weight files (10 MiB or more) found; building one image")
            weights = None
    context = stage_context(
        project.root, include_source=not dev, exclude=weights.paths if weights else ()
    )
    try:
        plan = generate_build(
            project.config,
            project.root,
            runtime_wheel=wheel,
            dev=dev,
            separate_weights=weights,
            weights_image=weights_image,
            config_filename=project.config_file,
            max_concurrency=project.max_concurrency(),
            copy_link=engine.supports_copy_link,
        )
        write_staged(plan, context)
        (context / DOCKERFILE_NAME).write_text(plan.dockerfile)
        result = _build(
            engine,
            context,
            DOCKERFILE_NAME,
            args.progress,
            tag=tag,
            no_cache=args.no_cache,
            secrets=secrets,
        )
    finally:
        shutil.rmtree(context, ignore_errors=True)
    if not dev:
        _finish(project, engine, tag, result.image_id, schema)
    return tag


def weights_ref(tag: str) -> str:
    """`name[:tag]` -> `name-weights[:tag]`."""
    slash, colon = tag.rfind("/"), tag.rfind(":")
    if colon > slash:
        return f"{tag[:colon]}-weights{tag[colon:]}"
    return f"{tag}-weights"


def _build_weights(
    project: Project,
    engine: Engine,
    weights: WeightPaths,
    image: str,
    args: argparse.Namespace,
) -> None:
    info(f"Building weights image {image} from {', '.join(weights.paths)}...")
    context = stage_paths(project.root, weights.paths)
    try:
        (context / "Dockerfile").write_text(weights_dockerfile(weights))
        _build(engine, context, "Dockerfile", args.progress, tag=image, no_cache=args.no_cache)
    finally:
        shutil.rmtree(context, ignore_errors=True)


def _build(
    engine: Engine,
    context: Path,
    dockerfile: str,
    progress: str,
    *,
    tag: str,
    no_cache: bool,
    secrets: dict[str, bytes] | None = None,
) -> BuildResult:
    """One engine build, its output shown as it happens (`--progress`); a failure becomes a
    CLIError that carries the failing step's log."""
    display = BuildProgress(progress)
    try:
        return engine.build(
            str(context),
            dockerfile,
            tag=tag,
            no_cache=no_cache,
            secrets=secrets,
            on_line=display.line,
        )
    except BuildError as exc:
        raise CLIError(str(exc)) from exc
    finally:
        display.done()


def parse_secrets(flags: list[str]) -> dict[str, bytes]:
    """`--secret id=NAME,src=PATH` or `--secret id=NAME,env=VAR` -> {NAME: value}."""
    secrets: dict[str, bytes] = {}
    for flag in flags:
        fields = dict(part.partition("=")[::2] for part in flag.split(",") if part)
        secret_id = fields.get("id")
        if not secret_id or ("src" in fields) == ("env" in fields):
            raise CLIError(
                f"invalid --secret {flag!r}: expected id=NAME,src=PATH or id=NAME,env=VARIABLE"
            )
        if "src" in fields:
            try:
                with open(os.path.expanduser(fields["src"]), "rb") as f:
                    secrets[secret_id] = f.read()
            except OSError as exc:
                raise CLIError(
                    f"cannot read secret {secret_id} from {fields['src']}: {exc}"
                ) from exc
        else:
            value = os.environ.get(fields["env"])
            if value is None:
                raise CLIError(
                    f"secret {secret_id}: environment variable {fields['env']} is not set"
                )
            secrets[secret_id] = value.encode()
    return secrets


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
    schema = project.checked_schema()
    if schema is None:
        # The model's own dependencies are only in the image: generate it there.
        warn(f"Generating the schema inside the image: {project.schema_error}")
    return schema


def _labels(project: Project, schema: dict[str, Any]) -> dict[str, str]:
    labels = image_labels(
        project.config, project.root, schema, max_concurrency=project.max_concurrency()
    )
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


def _finish(
    project: Project, engine: Engine, tag: str, image: str, schema: dict[str, Any] | None
) -> None:
    """Spec §6.1 steps 5-6: `pip freeze` (and the schema, when the host could not import the
    model) from inside the built image, then a last tiny build that adds
    `/src/.cog/openapi_schema.json` and the labels."""
    if schema is None:
        code, output, errors = _run_in(
            engine, image, ["python", "-m", "cog.command.openapi_schema"]
        )
        try:
            schema = json.loads(output) if code == 0 else None
        except ValueError:
            schema = None
        if not isinstance(schema, dict):
            raise CLIError(
                f"Failed to generate the model's OpenAPI schema in the image:\n{errors or output}"
            )
    labels = _labels(project, schema)
    code, freeze, _ = _run_in(engine, image, ["python", "-m", "pip", "freeze"])
    if code == 0:
        labels["run.cog.pip_freeze"] = freeze.strip()
    context = stage_context(project.root, include_source=False)
    try:
        (context / ".cog" / "openapi_schema.json").write_text(json.dumps(schema, indent=2))
        (context / DOCKERFILE_NAME).write_text(
            f"FROM {image}\nCOPY .cog/openapi_schema.json /src/.cog/openapi_schema.json\n"
        )
        try:
            engine.build(str(context), DOCKERFILE_NAME, tag=tag, labels=labels)
        except BuildError as exc:
            raise CLIError(str(exc)) from exc
    finally:
        shutil.rmtree(context, ignore_errors=True)


def _run_in(engine: Engine, image: str, command: list[str]) -> tuple[int, str, str]:
    """Run a command in `image`; its exit code, stdout and stderr."""
    container = engine.run_detached(image, command=command, workdir="/src")
    try:
        code = container.wait()
        return code, container.logs(stderr=False), container.logs(stdout=False)
    finally:
        container.remove()
