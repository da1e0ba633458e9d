"""The build context `cog build` hands to the engine: the project's files (honouring
`.dockerignore`, never `.cog/`), plus what the Dockerfile copies from `.cog/build/`: the
runtime wheel of this very cogpy version, the CA bundle, the schema."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cog._version import __version__
from cog.build.context import STAGING_DIR, context_excludes, context_paths
from cog.cli.errors import CLIError


def stage_context(
    project_dir: Path, *, include_source: bool = True, exclude: Sequence[str] = ()
) -> Path:
    """A fresh directory holding the files the image build may see (`exclude`: more
    .dockerignore patterns, such as weights built into their own image)."""
    context = Path(tempfile.mkdtemp(prefix="cog-context-"))
    if include_source:
        for relative in context_paths(project_dir, context_excludes(project_dir, exclude)):
            if relative == ".dockerignore" or relative.split("/", 1)[0] == ".cog":
                continue
            _place(project_dir / relative, context / relative)
    (context / STAGING_DIR).mkdir(parents=True, exist_ok=True)
    return context


def stage_paths(project_dir: Path, paths: Sequence[str]) -> Path:
    """A fresh directory holding only `paths` (files or whole directories) of the project."""
    context = Path(tempfile.mkdtemp(prefix="cog-weights-"))
    for path in paths:
        source = project_dir / path
        if source.is_dir():
            for inner in sorted(source.rglob("*")):
                _place(inner, context / inner.relative_to(project_dir))
        else:
            _place(source, context / path)
    return context


def _place(source: Path, target: Path) -> None:
    """Hard-link a file into the context (weights can be gigabytes), copying across devices."""
    if source.is_dir() and not source.is_symlink():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if not source.is_symlink():
        try:
            os.link(source, target)
            return
        except OSError:
            pass
    shutil.copy2(source, target, follow_symlinks=False)


def runtime_wheel() -> Path:
    """The cogpy wheel the image installs: `COG_WHEEL`, else `dist/cogpy-<version>-*.whl`
    beside the source or in the current directory, else one built from the installed source
    (cached by a hash of that source, so edits rebuild it)."""
    explicit = os.environ.get("COG_WHEEL")
    if explicit:
        if not os.path.isfile(explicit):
            raise CLIError(f"COG_WHEEL={explicit} does not exist")
        return Path(explicit)
    source = _source_root()
    search = [Path.cwd() / "dist"] + ([source / "dist"] if source else [])
    for folder in search:
        found = sorted(glob.glob(str(folder / f"cogpy-{__version__}-*.whl")))
        if found:
            return Path(found[-1])
    if source is None:
        raise CLIError(
            f"no cogpy {__version__} wheel found for the image: put it in ./dist/ or set COG_WHEEL "
            "to its path"
        )
    cache = _cache_dir() / "wheels" / _source_hash(source)
    cached = sorted(cache.glob(f"cogpy-{__version__}-*.whl"))
    if cached:
        return cached[-1]
    cache.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w"]
        + [str(cache), str(source)],
        capture_output=True,
        text=True,
    )
    built = sorted(cache.glob(f"cogpy-{__version__}-*.whl"))
    if result.returncode != 0 or not built:
        raise CLIError(
            f"building the cogpy wheel from {source} failed:\n{result.stderr.strip()[-3000:]}"
        )
    return built[-1]


def check_wheel_python(wheel: Path, python_version: str) -> None:
    """A compiled wheel (`cp311`) installs only into that Python: say so before building."""
    parts = wheel.name[: -len(".whl")].split("-")
    tag = parts[-3] if len(parts) >= 5 else ""
    if not tag.startswith("cp"):
        return
    wanted = "cp" + "".join(python_version.split(".")[:2])
    if tag != wanted:
        raise CLIError(
            f"the cogpy wheel {wheel.name} is built for Python {tag[2]}.{tag[3:]}, but cog.yaml "
            f"asks for Python {python_version}: build the wheel with that Python "
            "(`pythonX.Y -m pip wheel --no-deps -w dist .` in the cogpy source) and put it in "
            "./dist/ or set COG_WHEEL to it"
        )


def _source_root() -> Path | None:
    """The source tree this cog was installed from (editable installs), if any."""
    package = Path(__file__).resolve().parent.parent
    root = package.parent
    if (root / "pyproject.toml").is_file() and (root / "runtime").is_dir():
        return root
    return None


def _source_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for folder in ("cog", "runtime", "_native"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.suffix in (
                ".py",
                ".pyx",
                ".pyi",
                ".pxd",
                ".json",
                ".j2",
                ".txt",
            ):
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    for name in ("pyproject.toml", "CMakeLists.txt"):
        if (root / name).is_file():
            digest.update((root / name).read_bytes())
    return digest.hexdigest()[:16]


def _cache_dir() -> Path:
    explicit = os.environ.get("COG_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "cog" if xdg else Path.home() / ".cache" / "cog"
