"""The image's requirements.txt: read from cog.yaml, rewritten for the target (spec §6.2 step 6).

Reads `build.python_requirements` (following `-r` includes) or the deprecated
`build.python_packages`, drops lines that would replace this project's runtime, pins
PyTorch packages to the matrix row matching the image's CUDA (or its CPU build) with that
row's package index, swaps TensorFlow for its GPU package on GPU images, and hoists every
index option to the top of the file.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from cog.build import compat
from cog.config import Config, ConfigError, ConfigWarning

# Packages whose lines are dropped: the image gets this project's runtime, at the CLI's version.
RUNTIME_PACKAGES = frozenset({"cog", "coglet", "cogpy"})
TORCH_PACKAGES = ("torch", "torchvision", "torchaudio")
LOCAL_ARTIFACT_SUFFIXES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
# Inside the image, staged local artifacts live here (see `cog.build.dockerfile`).
LOCAL_ARTIFACT_DIR = "/tmp/cog-local"

_INDEX_OPTIONS = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--extra-index-url": "--extra-index-url",
}
_LINE_OPTION = re.compile(r"\s+(--extra-index-url|--find-links|--index-url|-f|-i)(?:=|\s+)(\S+)")
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?")
_PIN = re.compile(r"^\s*==\s*([^\s,;]+)\s*(?:;.*)?$")


def normalize_name(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Requirement:
    """One requirement line: the specifier and the index options written on the same line."""

    spec: str
    name: str | None = None  # normalised; None for URLs and paths
    pin: str | None = None  # the version of an exact `==` pin
    options: tuple[tuple[str, str], ...] = ()  # (--extra-index-url, URL), ...


@dataclass(frozen=True)
class LocalArtifact:
    """A wheel or source archive of the project named by path in the requirements."""

    source: Path
    staged_name: str


@dataclass(frozen=True)
class Requirements:
    """Parsed requirements: global option lines in order, then packages in order."""

    options: tuple[tuple[str, str | None], ...] = ()
    packages: tuple[Requirement, ...] = ()
    local_artifacts: tuple[LocalArtifact, ...] = ()

    def pinned(self, name: str) -> str | None:
        """The exact version pinned for `name` (`torch==2.1.0+cu118` -> `2.1.0+cu118`)."""
        for package in self.packages:
            if package.name == normalize_name(name):
                return package.pin
        return None


def read_requirements(config: Config, project_dir: Path) -> Requirements:
    """The requirements cog.yaml asks for, as written (nothing rewritten yet)."""
    build = config.build
    if build is None:
        return Requirements()
    if build.python_requirements is not None:
        path = project_dir / build.python_requirements
        lines = _read_lines(path, project_dir, set())
    else:
        lines = [(line, project_dir) for line in build.python_packages or ()]
    return _parse(lines, project_dir)


def _read_lines(path: Path, project_dir: Path, seen: set[Path]) -> list[tuple[str, Path]]:
    resolved = path.resolve()
    if resolved in seen:
        return []
    seen.add(resolved)
    if not resolved.is_file():
        raise ConfigError(
            f'invalid build.python_requirements "{path}": file does not exist',
            field="build.python_requirements",
        )
    text = resolved.read_text(encoding="utf-8")
    text = re.sub(r"\\\r?\n", " ", text)  # continuation lines
    lines: list[tuple[str, Path]] = []
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        include = re.match(r"^(-r|--requirement)(?:=|\s+)(\S+)$", line)
        if include:
            lines.extend(_read_lines(resolved.parent / include.group(2), project_dir, seen))
            continue
        if re.match(r"^(-c|--constraint)\b", line):
            raise ConfigError(
                f'invalid build.python_requirements line "{line}": constraints files are not '
                "supported; pin the versions in the requirements file instead",
                field="build.python_requirements",
            )
        lines.append((line, resolved.parent))
    return lines


def _parse(lines: list[tuple[str, Path]], project_dir: Path) -> Requirements:
    options: list[tuple[str, str | None]] = []
    packages: list[Requirement] = []
    artifacts: list[LocalArtifact] = []
    for line, base in lines:
        if line.startswith("-"):
            options.append(_global_option(line))
            continue
        line_options = tuple(
            (_INDEX_OPTIONS[m.group(1)], m.group(2)) for m in _LINE_OPTION.finditer(line)
        )
        spec = _LINE_OPTION.sub("", line).strip()
        artifact = _local_artifact(spec, base, project_dir)
        if artifact is not None:
            artifacts.append(artifact)
            spec = f"{LOCAL_ARTIFACT_DIR}/{artifact.staged_name}"
            packages.append(Requirement(spec=spec, options=line_options))
            continue
        requirement = _requirement(spec, line_options)
        if requirement.name in RUNTIME_PACKAGES:
            warnings.warn(
                f'removed "{line}" from the Python requirements: the image gets the runtime '
                "of the cog command that builds it",
                ConfigWarning,
                stacklevel=4,
            )
            continue
        packages.append(requirement)
    return Requirements(tuple(options), tuple(packages), tuple(artifacts))


def _global_option(line: str) -> tuple[str, str | None]:
    match = re.match(r"^(-[A-Za-z]|--[A-Za-z-]+)(?:=|\s+)?(.*)$", line)
    if match is None:
        return (line, None)
    name = _INDEX_OPTIONS.get(match.group(1), match.group(1))
    return (name, match.group(2).strip() or None)


def _requirement(spec: str, options: tuple[tuple[str, str], ...]) -> Requirement:
    if "://" in spec.split("@")[0] or spec.startswith((".", "/")):
        return Requirement(spec=spec, options=options)
    match = _NAME.match(spec)
    if match is None:
        return Requirement(spec=spec, options=options)
    pin = _PIN.match(spec[match.end() :])
    return Requirement(
        spec=spec,
        name=normalize_name(match.group(1)),
        pin=pin.group(1) if pin else None,
        options=options,
    )


def _local_artifact(spec: str, base: Path, project_dir: Path) -> LocalArtifact | None:
    if "://" in spec or " " in spec or not spec.endswith(LOCAL_ARTIFACT_SUFFIXES):
        return None
    path = (base / spec).resolve()
    if not path.is_relative_to(project_dir.resolve()):
        raise ConfigError(
            f'invalid build.python_requirements line "{spec}": local packages must be inside '
            "the project directory",
            field="build.python_requirements",
        )
    if not path.is_file():
        raise ConfigError(
            f'invalid build.python_requirements line "{spec}": file does not exist ({path})',
            field="build.python_requirements",
        )
    return LocalArtifact(source=path, staged_name=path.name)


def rewrite_for_target(requirements: Requirements, *, gpu: bool, cuda: str | None) -> Requirements:
    """Pin PyTorch packages to the build for `cuda` (or the CPU build) and use its index;
    swap TensorFlow for its GPU package on GPU images. Lines with their own index win."""
    packages = []
    for package in requirements.packages:
        if package.name in TORCH_PACKAGES and package.pin and not package.options:
            package = _rewrite_torch(package, gpu=gpu, cuda=cuda)
        elif package.name == "tensorflow" and package.pin and gpu:
            build = compat.tensorflow_build(package.pin)
            if build is not None:
                package = replace(package, spec=build.gpu_package)
        packages.append(package)
    return replace(requirements, packages=tuple(packages))


def torch_build_for(
    name: str, version: str, *, gpu: bool, cuda: str | None
) -> compat.TorchBuild | None:
    """The matrix row for `name==version`: the highest CUDA <= `cuda`, or the CPU build."""
    column = {"torch": "torch", "torchvision": "torchvision", "torchaudio": "torchaudio"}[name]
    rows = [
        b
        for b in compat.torch_builds()
        if compat.strip_local(getattr(b, column)) == compat.strip_local(version)
    ]
    if not gpu:
        cpu = [b for b in rows if b.cuda is None]
        return cpu[0] if cpu else None
    if cuda is None:
        return None
    limit = compat.version_tuple(compat.major_minor(cuda))
    fits = [b for b in rows if b.cuda is not None and compat.version_tuple(b.cuda) <= limit]
    return max(fits, key=lambda b: compat.version_tuple(b.cuda or "0")) if fits else None


def _rewrite_torch(package: Requirement, *, gpu: bool, cuda: str | None) -> Requirement:
    assert package.name is not None and package.pin is not None
    build = torch_build_for(package.name, package.pin, gpu=gpu, cuda=cuda)
    if build is None:
        return package
    options = []
    if build.find_links:
        options.append(("--find-links", build.find_links))
    if build.extra_index_url:
        options.append(("--extra-index-url", build.extra_index_url))
    spec = package.spec.replace(package.pin, compat.strip_local(package.pin), 1)
    return replace(package, spec=spec, pin=compat.strip_local(package.pin), options=tuple(options))


def render(requirements: Requirements) -> str:
    """requirements.txt text: `--index-url`, `--find-links`, `--extra-index-url`, other options
    (each once, in order of appearance), then the packages in their original order."""
    collected: list[tuple[str, str | None]] = list(requirements.options)
    for package in requirements.packages:
        collected.extend(package.options)
    order = {"--index-url": 0, "--find-links": 1, "--extra-index-url": 2}
    unique = list(dict.fromkeys(collected))
    unique.sort(key=lambda option: order.get(option[0], 3))
    lines = [name if value is None else f"{name} {value}" for name, value in unique]
    lines.extend(package.spec for package in requirements.packages)
    return "".join(f"{line}\n" for line in lines)
