"""`--separate-weights` (spec §6.5): find large weight files and build them into their own image.

Weights change rarely and code often; putting them in a `FROM scratch` image that the model
image copies from keeps code-only rebuilds and pushes small.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cog.build.render import render_template

SIZE_THRESHOLD = 10 * 1024 * 1024
IGNORED_PREFIXES = (".git", ".cog", "__pycache__")
CODE_SUFFIXES = frozenset({".py", ".ipynb", ".whl"})
NON_WEIGHT_SUFFIXES = frozenset(
    {
        ".jpg", ".jpeg", ".png", ".webp", ".svg", ".gif", ".avif", ".heic",
        ".mp4", ".mov", ".avi", ".wmv", ".mkv", ".webm",
        ".mp3", ".wav", ".ogg", ".flac", ".aac", ".m4a",
        ".log",
    }
)  # fmt: skip


@dataclass(frozen=True)
class WeightPaths:
    """Weight locations relative to the project: whole directories and top-level files."""

    directories: tuple[str, ...]
    files: tuple[str, ...]

    @property
    def paths(self) -> tuple[str, ...]:
        return self.directories + self.files


def find_weights(project_dir: str | os.PathLike[str]) -> WeightPaths:
    """Regular files >= 10 MiB that are not code or media, grouped into top-level files and the
    shallowest directories that hold them, dropping directories that contain code."""
    root = Path(project_dir)
    weights: list[PurePosixPath] = []
    code: list[PurePosixPath] = []
    for dirpath, dirnames, filenames in os.walk(root):
        relative_dir = PurePosixPath(Path(dirpath).relative_to(root).as_posix())
        dirnames[:] = sorted(
            d for d in dirnames if not str(relative_dir / d).startswith(IGNORED_PREFIXES)
        )
        for name in sorted(filenames):
            relative = relative_dir / name
            if str(relative).startswith(IGNORED_PREFIXES):
                continue
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            suffix = relative.suffix.lower()
            if suffix in CODE_SUFFIXES:
                code.append(relative)
            elif suffix not in NON_WEIGHT_SUFFIXES and path.stat().st_size >= SIZE_THRESHOLD:
                weights.append(relative)

    weights.sort(key=lambda p: (len(p.parts), str(p)))
    directories: list[PurePosixPath] = []
    files: list[str] = []
    for weight in weights:
        parent = weight.parent
        if str(parent) == ".":
            files.append(str(weight))
        elif not any(parent.is_relative_to(d) for d in directories):
            directories.append(parent)
    kept = [d for d in directories if not any(c.is_relative_to(d) for c in code)]
    return WeightPaths(directories=tuple(str(d) for d in kept), files=tuple(files))


def weights_dockerfile(weights: WeightPaths) -> str:
    """The `FROM scratch` Dockerfile of the `<image>-weights` image."""
    return render_template("weights.Dockerfile.j2", paths=weights.paths)
