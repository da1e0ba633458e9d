"""The model image's Dockerfile and the files it copies from the build context (spec §6.4).

`generate_build` returns both: the Dockerfile text and the files to stage under
`.cog/build/` in the build context (requirements.txt, the custom CA, local wheels, the
runtime wheel). `generate_dockerfile` is the Dockerfile alone, for `cog debug`.

Deviations from Cog, for build machines that reach only Debian's and PyPI's package
servers: tini comes from the distribution's `tini` package instead of a GitHub download,
packages install with plain `pip` instead of uv, and GPU images get Python from the
distribution (or the deadsnakes PPA) instead of a uv-managed download.
"""

from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cog._version import __version__
from cog.build import requirements as reqs
from cog.build.ca_cert import STAGED_NAME as CA_CERT_NAME
from cog.build.ca_cert import read_ca_cert
from cog.build.context import STAGING_DIR
from cog.build.cuda import GpuStack, resolve_gpu
from cog.build.render import render_template
from cog.build.weights import WeightPaths
from cog.config import Config, ConfigWarning
from cog.config.models import python_minor

RUNTIME_PACKAGE = "cogpy"
REQUIREMENTS_NAME = "requirements.txt"
LOCAL_ARTIFACTS_NAME = "local"

StagedFile = str | bytes | Path


@dataclass(frozen=True)
class BuildPlan:
    """A Dockerfile and what the build context must hold for it."""

    dockerfile: str
    # Relative to `.cog/build/` in the context: text or bytes to write, or a file to copy.
    staged: dict[str, StagedFile] = field(default_factory=dict)
    base_image: str = ""
    gpu: GpuStack | None = None
    requirements: str = ""  # the rewritten requirements.txt ("" when there are none)


def base_image(config: Config, gpu: GpuStack | None) -> str:
    """`nvidia/cuda:<tag>` for GPU images, `python:<python_version>-slim` otherwise."""
    if gpu is not None:
        return gpu.base_image
    return f"python:{config.python_version}-slim"


def resolve(
    config: Config, project_dir: str | os.PathLike[str]
) -> tuple[GpuStack | None, reqs.Requirements]:
    """The GPU stack (None for CPU images) and the requirements rewritten for it."""
    parsed = reqs.read_requirements(config, Path(project_dir))
    gpu = resolve_gpu(config, parsed) if config.gpu else None
    rewritten = reqs.rewrite_for_target(parsed, gpu=config.gpu, cuda=gpu.cuda if gpu else None)
    return gpu, rewritten


def generate_build(
    config: Config,
    project_dir: str | os.PathLike[str],
    *,
    runtime_wheel: str | os.PathLike[str] | None,
    dev: bool = False,
    separate_weights: WeightPaths | None = None,
    weights_image: str | None = None,
    ca_cert: str | None = None,
    config_filename: str = "cog.yaml",
    max_concurrency: int | None = None,
    copy_link: bool = True,
) -> BuildPlan:
    """Render the Dockerfile for `config` and list the files to stage for it.

    runtime_wheel: this project's wheel (for the image's Python); its file name is copied
        from `.cog/build/`, and when the path exists it is listed in `staged`. None installs
        `cogpy==<this version>` from the package index instead.
    dev: a local development image (`cog serve/run/exec`): no `COPY . /src`, the project
        is bind-mounted at /src.
    separate_weights, weights_image: weights built into `weights_image` (see
        `cog.build.weights`); they are copied from it and must be left out of the context.
    ca_cert: a `COG_CA_CERT` value; None reads the environment variable.
    config_filename: the config's name when not `cog.yaml` (`-f`); copied to cog.yaml.
    max_concurrency: from `@cog.concurrent(max=N)`; cog.yaml's `concurrency.max` wins.
    copy_link: weights are copied with `COPY --link`, as Cog does; False for engines that
        reject the flag (`Engine.supports_copy_link`).
    """
    gpu, parsed = resolve(config, project_dir)
    _warn_missing_git(config, parsed)
    requirements_text = reqs.render(parsed) if parsed.packages or parsed.options else ""
    staged: dict[str, StagedFile] = {}

    pem = read_ca_cert(ca_cert)
    if pem is not None:
        staged[CA_CERT_NAME] = pem
    if requirements_text:
        staged[REQUIREMENTS_NAME] = requirements_text
    for artifact in parsed.local_artifacts:
        staged[f"{LOCAL_ARTIFACTS_NAME}/{artifact.staged_name}"] = artifact.source
    wheel_name = None
    if runtime_wheel is not None:
        wheel_path = Path(runtime_wheel)
        wheel_name = wheel_path.name
        if wheel_path.is_file():
            staged[wheel_name] = wheel_path

    concurrency = config.concurrency.max if config.concurrency else max_concurrency
    if separate_weights is not None and weights_image is None:
        raise ValueError("separate_weights needs the weights image name (weights_image)")
    image = base_image(config, gpu)
    dockerfile = render_template(
        "Dockerfile.j2",
        base_image=image,
        staging=STAGING_DIR,
        ca_cert=CA_CERT_NAME if pem is not None else None,
        environment=[
            (name, _env_value(value))
            for name, value in sorted(config.environment_variables.items())
        ],
        system_packages=list(config.system_packages),
        gpu=gpu is not None,
        python_minor="{}.{}".format(*python_minor(config.python_version)),
        local_artifacts=LOCAL_ARTIFACTS_NAME if parsed.local_artifacts else None,
        local_artifact_dir=reqs.LOCAL_ARTIFACT_DIR,
        requirements=REQUIREMENTS_NAME if requirements_text else None,
        runtime_wheel=wheel_name,
        runtime_requirement=f"{RUNTIME_PACKAGE}=={__version__}",
        run_commands=list(config.run_commands),
        weights_image=weights_image if separate_weights is not None else None,
        weight_paths=list(separate_weights.paths) if separate_weights is not None else [],
        copy_link=copy_link,
        predict_ref=config.predict_ref,
        train_ref=config.train_ref,
        max_concurrency=concurrency if concurrency and concurrency > 0 else None,
        dev=dev,
        config_filename=config_filename,
    )
    return BuildPlan(
        dockerfile=dockerfile,
        staged=staged,
        base_image=image,
        gpu=gpu,
        requirements=requirements_text,
    )


def generate_dockerfile(config: Config, project_dir: str | os.PathLike[str], **options: Any) -> str:
    """The Dockerfile text of `generate_build` (same arguments)."""
    return generate_build(config, project_dir, **options).dockerfile


def write_staged(plan: BuildPlan, context_dir: str | os.PathLike[str]) -> Path:
    """Write `plan.staged` under `<context_dir>/.cog/build/` (emptied first); returns it."""
    target = Path(context_dir) / STAGING_DIR
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name, content in plan.staged.items():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, destination)
        elif isinstance(content, bytes):
            destination.write_bytes(content)
        else:
            destination.write_text(content, encoding="utf-8")
    return target


def _warn_missing_git(config: Config, parsed: reqs.Requirements) -> None:
    """pip needs git for `git+` requirements, and slim images have none."""
    needs_git = [p.spec for p in parsed.packages if p.spec.startswith("git+")]
    if needs_git and "git" not in config.system_packages and not config.gpu:
        warnings.warn(
            f'requirement "{needs_git[0]}" needs git in the image: add git to '
            "build.system_packages",
            ConfigWarning,
            stacklevel=3,
        )


def _env_value(value: str) -> str:
    """A double-quoted Dockerfile ENV value, taken literally (no `$` expansion)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'
