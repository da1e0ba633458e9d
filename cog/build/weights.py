"""`--separate-weights` (spec §6.5): find large weight files and build them into their own image.

Weights change rarely and code often; putting them in a `FROM scratch` image that the model
image copies from keeps code-only rebuilds and pushes small.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cog.build.render import render_template

SIZE_THRESHOLD = 10 * 1024 * 1024
MANIFEST = ".cog/cache/weights_manifest.json"
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


def weights_manifest(project_dir: str | os.PathLike[str], weights: WeightPaths) -> dict[str, str]:
    """CRC32 (hex) of every weight file, by path relative to the project."""
    root = Path(project_dir)
    files: list[Path] = []
    for relative in weights.paths:
        path = root / relative
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    manifest = {}
    for path in files:
        crc = 0
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                crc = zlib.crc32(chunk, crc)
        manifest[path.relative_to(root).as_posix()] = f"{crc:08x}"
    return manifest


def weights_changed(project_dir: str | os.PathLike[str], weights: WeightPaths) -> bool:
    """Whether the weights differ from the last recorded build; records the new manifest.

    The weights image is rebuilt only when this says so (`.cog/cache/weights_manifest.json`)."""
    path = Path(project_dir) / MANIFEST
    manifest = weights_manifest(project_dir, weights)
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        previous = None
    if previous == manifest:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return True


def weights_dockerfile(weights: WeightPaths) -> str:
    """The `FROM scratch` Dockerfile of the `<image>-weights` image."""
    return render_template("weights.Dockerfile.j2", paths=weights.paths)
