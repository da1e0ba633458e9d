"""Finds cog.yaml, parses it, and turns it into a validated `Config` (spec §5.1)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import yaml

from cog.config.errors import ConfigError, ConfigWarning, schema_error
from cog.config.models import Config
from cog.config.structure import check_structure

DEFAULT_FILENAME = "cog.yaml"
MAX_PARENT_LEVELS = 100

# Keys that Cog renamed: accepted, with a warning naming the replacement.
_RENAMED = {
    ("predict",): '"run"',
    ("build", "python_packages"): '"build.python_requirements"',
    ("build", "pre_install"): '"build.run"',
    ("concurrency",): "the @cog.concurrent(max=N) decorator",
}
# Keys of older Cog releases that no longer mean anything: dropped, with a warning.
_RETIRED = (("build", "fast"), ("build", "cog_runtime"), ("build", "python_overrides"))


def find_config(
    filename: str = DEFAULT_FILENAME, start: str | os.PathLike[str] | None = None
) -> Path:
    """The first `filename` in `start` (default: the current directory) or its parents."""
    directory = Path(start if start is not None else os.getcwd()).resolve()
    for _ in range(MAX_PARENT_LEVELS + 1):
        candidate = directory / filename
        if candidate.is_file():
            return candidate
        if directory.parent == directory:
            break
        directory = directory.parent
    where = Path(start if start is not None else os.getcwd()).resolve()
    raise ConfigError(
        f"{filename} not found in {where} or any parent directory "
        f"(run `cog init` to create one, or pass -f with the file's name)"
    )


def _locate(path: str | os.PathLike[str] | None) -> Path:
    if path is None:
        return find_config()
    candidate = Path(path)
    if candidate.is_dir():
        return find_config(start=candidate)
    if not candidate.is_absolute() and len(candidate.parts) == 1:
        return find_config(candidate.name)
    if not candidate.is_file():
        raise ConfigError(f"{candidate} does not exist")
    return candidate.resolve()


def load_config(path: str | os.PathLike[str] | None = None) -> tuple[Config, Path]:
    """Find, parse and validate cog.yaml; returns the config and the project root.

    `path` is None (search `cog.yaml` from the current directory upwards), a bare file
    name as given to `-f` (searched the same way), a directory (searched from there) or
    the path of a config file. Deprecated keys are accepted with a `ConfigWarning`.
    """
    config_path = _locate(path)
    project_dir = config_path.parent
    document = parse_document(config_path.read_text(encoding="utf-8"), config_path.name)
    return validate_document(document, project_dir), project_dir


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, but a key given twice in one mapping is an error (as in Cog's
    parser) instead of the last one silently winning."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, yaml.Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = key_node.value
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f'mapping key "{key}" is repeated (first defined on line {first})',
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def parse_document(text: str, filename: str = DEFAULT_FILENAME) -> dict[str, Any]:
    """The YAML mapping of a cog.yaml (an empty file is an empty mapping)."""
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split()).replace('in "<unicode string>", ', "at ")
        raise ConfigError(f"failed to parse {filename}: invalid YAML: {detail}") from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise schema_error("", "must be a mapping")
    return document


def validate_document(document: dict[str, Any], project_dir: Path | None = None) -> Config:
    """Validate a parsed cog.yaml; `project_dir` enables the checks that look at files."""
    document = _drop_deprecated(document)
    build = document.get("build")
    if isinstance(build, dict) and "python_version" not in build:
        raise ConfigError(
            "python_version is required. Add it to the build section of cog.yaml, "
            'for example: python_version: "3.12" (supported: 3.10 and newer)',
            field="build.python_version",
        )
    check_structure(document)
    context = {"project_dir": project_dir} if project_dir is not None else None
    return Config.model_validate(document, context=context)


def _drop_deprecated(document: dict[str, Any]) -> dict[str, Any]:
    for keys, replacement in _RENAMED.items():
        if _lookup(document, keys) is not None:
            _warn(f'deprecated field "{".".join(keys)}": use {replacement} instead')
    retired = [keys for keys in _RETIRED if _lookup(document, keys) is not None]
    if not retired:
        return document
    build = dict(document["build"])
    for keys in retired:
        _warn(f'deprecated field "{".".join(keys)}": no longer supported, ignored')
        del build[keys[1]]
    return {**document, "build": build}


def _lookup(document: dict[str, Any], keys: tuple[str, ...]) -> Any:
    node: Any = document
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if node is not None else True


def _warn(message: str) -> None:
    warnings.warn(message, ConfigWarning, stacklevel=5)
