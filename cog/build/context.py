"""What goes into the build context: the project minus `.dockerignore` and `.cog/`, plus the
staged files the Dockerfile copies from `.cog/build/`.

Engines that speak the Docker Engine API have no named build contexts, so the files Cog
stages in a separate `cog_build` context live in the main context under `.cog/build/`
instead; everything else under `.cog/` (caches, the schema of a previous build) stays out.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from docker.utils.build import exclude_paths

STAGING_DIR = ".cog/build"
ALWAYS_EXCLUDED = (".cog", f"!{STAGING_DIR}")


def read_dockerignore(project_dir: str | os.PathLike[str]) -> list[str]:
    """The patterns of the project's `.dockerignore` (comments and blank lines dropped)."""
    path = Path(project_dir) / ".dockerignore"
    if not path.is_file():
        return []
    patterns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(line)
    return patterns


def context_excludes(project_dir: str | os.PathLike[str], extra: Iterable[str] = ()) -> list[str]:
    """`.dockerignore` patterns for the build: the user's, then `.cog/` (but not the staged
    files), then `extra` (for example weight paths built into a separate image). Later
    patterns win, so the user cannot re-include `.cog/` by accident."""
    return [*read_dockerignore(project_dir), *ALWAYS_EXCLUDED, *extra]


def context_paths(project_dir: str | os.PathLike[str], excludes: Iterable[str]) -> list[str]:
    """Relative paths (files and directories) that a build context with `excludes` contains,
    sorted; `docker.utils.build.tar(project_dir, exclude=excludes)` packs the same set."""
    return sorted(exclude_paths(os.fspath(project_dir), list(excludes)))
