"""`cog doctor`: check a project and explain each problem with how to fix it. Exit 1 when any
check fails (warnings alone exit 0). COG_SKIP_DOCKER_CHECK skips the engine check."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import sys
from dataclasses import dataclass

from cog.cli.console import console
from cog.cli.errors import CLIError
from cog.cli.project import Project, load_project


@dataclass
class Finding:
    level: str  # "ok", "warn", "error"
    what: str
    fix: str = ""


def run(args: argparse.Namespace) -> int:
    findings = check(args.file)
    out = console()
    for finding in findings:
        mark = {"ok": "[green]✓[/green]", "warn": "[yellow]![/yellow]", "error": "[red]✗[/red]"}
        out.print(f"{mark[finding.level]} {finding.what}", highlight=False, markup=True)
        if finding.fix:
            out.print(f"    fix: {finding.fix}", highlight=False, markup=False)
    errors = sum(f.level == "error" for f in findings)
    warnings = sum(f.level == "warn" for f in findings)
    out.print(f"\n{errors} error(s), {warnings} warning(s)", highlight=False)
    return 1 if errors else 0


def check(config_file: str | None) -> list[Finding]:
    try:
        project = load_project(config_file)
    except CLIError as exc:
        return [Finding("error", f"cog.yaml: {exc}", "correct cog.yaml as the message says")]
    findings = [Finding("ok", f"cog.yaml is valid ({project.root / project.config_file})")]
    findings += _deprecations(project)
    findings += _runner(project)
    findings += _local_environment(project)
    if not os.environ.get("COG_SKIP_DOCKER_CHECK"):
        findings.append(_engine())
    return findings


def _deprecations(project: Project) -> list[Finding]:
    config = project.config
    found = []
    if config.predict is not None:
        found.append(
            Finding(
                "warn",
                'cog.yaml uses the deprecated "predict" key',
                f'rename it to run: "{config.predict}"',
            )
        )
    build = config.build
    if build is not None and build.python_packages is not None:
        found.append(
            Finding(
                "warn",
                "build.python_packages is deprecated",
                "list the packages in requirements.txt and set build.python_requirements",
            )
        )
    if build is not None and build.pre_install is not None:
        found.append(
            Finding("warn", "build.pre_install is deprecated", "move the commands to build.run")
        )
    if config.concurrency is not None:
        found.append(
            Finding(
                "warn",
                "the concurrency section is deprecated",
                "decorate the run method with @cog.concurrent(max=N) instead",
            )
        )
    return found


def _runner(project: Project) -> list[Finding]:
    refs = [("run", project.predict_ref, "predict"), ("train", project.train_ref, "train")]
    if not project.predict_ref and not project.train_ref:
        return [
            Finding(
                "error",
                "cog.yaml names no model to run",
                'add run: "predict.py:Predictor" (the file and class of the model)',
            )
        ]
    found = []
    for key, ref, mode in refs:
        if not ref:
            continue
        path = project.root / ref.split(".py:")[0]
        if not path.with_suffix(".py").is_file():
            found.append(
                Finding(
                    "error",
                    f"{key}: {ref}: the file {path.with_suffix('.py').name} does not exist",
                    f"create it, or point {key} at the file that defines the model",
                )
            )
            continue
        try:
            from cog.loader import load_runner

            load_runner(ref, project.root, mode=mode)  # type: ignore[arg-type]
        except ImportError as exc:
            found.append(
                Finding(
                    "warn",
                    f"{key}: {ref} imports a package not installed here ({exc})",
                    "fine for container builds (the image installs build.python_requirements); "
                    "for --local, pip install the requirements into this environment",
                )
            )
            continue
        except Exception as exc:  # noqa: BLE001 - the loader's message explains the problem
            found.append(
                Finding("error", f"{key}: {ref}: {exc}", "fix the model code as the message says")
            )
            continue
        found.append(Finding("ok", f"{key}: {ref} loads"))
        if mode == "predict":
            schema = project.schema()
            if schema is None:
                found.append(
                    Finding(
                        "error",
                        f"the OpenAPI schema cannot be generated: {project.schema_error}",
                        "give every input and the return value a supported type annotation",
                    )
                )
            else:
                found.append(Finding("ok", "the OpenAPI schema generates"))
    return found


def _local_environment(project: Project) -> list[Finding]:
    """What `--local` needs: the same Python minor version and the requirements installed."""
    found = []
    wanted = project.config.python_version
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if ".".join(wanted.split(".")[:2]) != here:
        found.append(
            Finding(
                "warn",
                f"build.python_version is {wanted} but this environment runs Python {here}",
                "--local uses this Python; containers use the configured version",
            )
        )
    build = project.config.build
    requirements: list[str] = list(build.python_packages or []) if build else []
    if build is not None and build.python_requirements:
        path = project.root / build.python_requirements
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                requirements.append(line)
    for requirement in requirements:
        name = re.split(r"[<>=!~\[;@ ]", requirement, maxsplit=1)[0]
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found.append(
                Finding(
                    "warn",
                    f"{name} (from the requirements) is not installed in this environment",
                    f"for --local: pip install '{requirement}'",
                )
            )
    return found


def _engine() -> Finding:
    from cog.engine import EngineError, connect

    try:
        engine = connect()
    except EngineError as exc:
        return Finding("warn", f"no container engine: {exc}", "only --local commands will work")
    return Finding("ok", f"container engine: {engine.name} at {engine.base_url}")
