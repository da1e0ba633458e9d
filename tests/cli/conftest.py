"""Runs the real `cog` command as a subprocess, in a project directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECTS = Path(__file__).parent / "projects"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COG = str(Path(sys.executable).with_name("cog"))


def cog(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
):
    full_env = dict(os.environ)
    for name, value in (env or {}).items():
        if value == "":  # an empty value removes the variable
            full_env.pop(name, None)
        else:
            full_env[name] = value
    full_env["NO_COLOR"] = "1"
    return subprocess.run(
        [COG, *args],
        cwd=cwd,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def project(tmp_path: Path):
    """A private copy of a test project (outputs are written into the working directory)."""

    def copy(name: str) -> Path:
        source = EXAMPLES / name if (EXAMPLES / name).is_dir() else PROJECTS / name
        target = tmp_path / name
        shutil.copytree(source, target)
        return target

    return copy
