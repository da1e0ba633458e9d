"""The cog.yaml data model (spec §5.2) and its semantic rules.

`check_structure` has already enforced keys and types; these models normalise values
(python_version numbers, `run` strings) and enforce the rules a JSON schema cannot say.
Validators raise `ConfigError`, which pydantic lets through untouched (it only wraps
ValueError), so every message keeps the §5.1 form. Rules that need the project directory read it from the
validation context (`{"project_dir": Path}`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator, model_validator

from cog.config.errors import invalid

DEFAULT_PYTHON_VERSION = "3.13"
MIN_PYTHON = (3, 10)
MIN_CUDA_MAJOR = 11
MIN_SDK_VERSION = (0, 16, 0)

RESERVED_ENV_NAMES = frozenset(
    {
        "PATH",
        "LD_LIBRARY_PATH",
        "PYTHONPATH",
        "VIRTUAL_ENV",
        "PYTHONUNBUFFERED",
        "LIBRARY_PATH",
        "HF_ENDPOINT",
        "HF_HUB_ENABLE_HF_TRANSFER",
    }
)
RESERVED_ENV_PREFIXES = ("R8_", "REPLICATE_", "CUDA_", "NVIDIA_", "NV_", "PGET_", "KUBERNETES_")

_PYTHON_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
_CUDA_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
_CUDNN_VERSION = re.compile(r"^\d+(?:\.\d+)*$")
_SDK_VERSION = re.compile(r"^(\d+(?:\.\d+)*)((?:a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")
_WEIGHT_SCHEMES = ("hf://", "file://", "https://")


def _project_dir(info: ValidationInfo) -> Path | None:
    context = info.context or {}
    project_dir = context.get("project_dir")
    return Path(project_dir) if project_dir is not None else None


def _inside(project_dir: Path | None, relative: str) -> bool:
    """Whether `relative` stays in the project (following symlinks when the project is known)."""
    path = PurePosixPath(relative)
    if path.is_absolute():
        return False
    if project_dir is None:
        return os.path.normpath(path).split(os.sep, 1)[0] != ".."
    root = project_dir.resolve()
    return (root / relative).resolve().is_relative_to(root)


def parse_python_version(value: Any) -> str:
    """Normalise `build.python_version` (a string, or a YAML number) to text, enforcing >= 3.10."""
    field = "build.python_version"
    text = str(value).strip()
    # YAML reads an unquoted 3.10 as the float 3.1: say so, since the number looks right.
    hint = ""
    if isinstance(value, float):
        hint = (
            f" (the unquoted YAML number {text} is read as a float, so 3.10 becomes 3.1:"
            f' quote it, python_version: "{text}0" or "{text}")'
        )
        if text in {"3.1", "3.2", "3.3"}:
            hint = (
                f" (an unquoted 3.{text[2]}0 in YAML is the number {text}:"
                f' quote it, python_version: "3.{text[2]}0")'
            )
    match = _PYTHON_VERSION.match(text)
    if match is None:
        raise invalid(
            field, "must be major.minor or major.minor.patch, for example 3.12" + hint, text
        )
    version = (int(match.group(1)), int(match.group(2)))
    if version[0] != 3 or version < MIN_PYTHON:
        raise invalid(field, "minimum supported Python version is 3.10" + hint, text)
    return text


def python_minor(version: str) -> tuple[int, int]:
    """(major, minor) of a validated python_version."""
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


class SecretMount(BaseModel):
    """A BuildKit secret mount for a `build.run` command (`cog build --secret id=..`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["secret"] = "secret"
    id: str
    target: str


class RunCommand(BaseModel):
    """One `build.run` item; plain strings become commands without mounts."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    command: str
    mounts: tuple[SecretMount, ...] = ()


def _run_command(index: int, item: Any, field: str) -> RunCommand:
    command = item if isinstance(item, str) else item["command"]
    # A block scalar (`- |`) ends in a newline that changes nothing; an inner one does.
    command = command.rstrip("\n")
    if "\n" in command:
        raise invalid(
            f"{field}[{index}]",
            "One of the commands in 'run' contains a new line, which won't work. You need to "
            "create a new list item in YAML prefixed with '-' for each command. "
            f"The command was: {command!r}",
        )
    if isinstance(item, str):
        return RunCommand(command=command)
    return RunCommand(command=command, mounts=tuple(item.get("mounts") or ()))


class Build(BaseModel):
    """The `build` section: how the image is made."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    python_version: str
    gpu: bool = False
    cuda: str | None = None
    cudnn: str | None = None
    python_requirements: str | None = None
    python_packages: tuple[str, ...] | None = None
    system_packages: tuple[str, ...] = ()
    run: tuple[RunCommand, ...] = ()
    pre_install: tuple[str, ...] | None = None
    sdk_version: str | None = None

    @field_validator("python_version", mode="before")
    @classmethod
    def _python_version(cls, value: Any) -> str:
        return parse_python_version(value)

    @field_validator("system_packages", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return () if value is None else value

    @field_validator("run", mode="before")
    @classmethod
    def _run(cls, value: Any) -> tuple[RunCommand, ...]:
        return tuple(_run_command(i, item, "build.run") for i, item in enumerate(value or ()))

    @field_validator("pre_install")
    @classmethod
    def _pre_install(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for i, command in enumerate(value or ()):
            _run_command(i, command, "build.pre_install")
        return value

    @field_validator("cuda")
    @classmethod
    def _cuda(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if re.fullmatch(r"\d+", value):
            raise invalid("build.cuda", "must include both major and minor versions", value)
        match = _CUDA_VERSION.match(value)
        if match is None:
            raise invalid("build.cuda", "must be a CUDA version such as 11.8 or 11.8.0", value)
        if int(match.group(1)) < MIN_CUDA_MAJOR:
            raise invalid("build.cuda", "minimum supported CUDA version is 11.0", value)
        return value

    @field_validator("cudnn")
    @classmethod
    def _cudnn(cls, value: str | None) -> str | None:
        if value is not None and _CUDNN_VERSION.match(value) is None:
            raise invalid("build.cudnn", "must be a cuDNN version such as 8 or 9", value)
        return value

    @field_validator("sdk_version")
    @classmethod
    def _sdk_version(cls, value: str | None) -> str | None:
        if value is None or value == "prerelease":
            return value
        match = _SDK_VERSION.match(value)
        if match is None:
            raise invalid(
                "build.sdk_version",
                'must be a PEP 440 version such as "0.18.0" or "0.18.0a1", or "prerelease"',
                value,
            )
        release = tuple(int(p) for p in match.group(1).split("."))
        if release < MIN_SDK_VERSION:
            raise invalid("build.sdk_version", "minimum supported SDK version is 0.16.0", value)
        return value

    @model_validator(mode="after")
    def _requirements(self, info: ValidationInfo) -> Build:
        if self.python_packages is not None and self.python_requirements is not None:
            raise invalid(
                "build",
                "only one of python_packages or python_requirements can be set, not both",
            )
        project_dir = _project_dir(info)
        if self.python_requirements is not None and project_dir is not None:
            path = project_dir / self.python_requirements
            if not path.is_file():
                raise invalid("build.python_requirements", "file does not exist", path)
        return self

    @property
    def run_commands(self) -> tuple[RunCommand, ...]:
        """`run` followed by the deprecated `pre_install` commands."""
        extra = tuple(RunCommand(command=c.rstrip("\n")) for c in self.pre_install or ())
        return self.run + extra


class Concurrency(BaseModel):
    """The deprecated `concurrency` section (`@cog.concurrent` replaces it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    max: int
    default_target: int | None = None

    @field_validator("max")
    @classmethod
    def _max(cls, value: int) -> int:
        if value < 1:
            raise invalid("concurrency.max", "must be at least 1", value)
        return value


class WeightSource(BaseModel):
    """Where a weight entry is imported from."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    uri: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


class Weight(BaseModel):
    """An experimental managed-weights entry."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    target: str
    source: tuple[WeightSource, ...]

    @field_validator("source", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value


class Config(BaseModel):
    """A validated cog.yaml; properties give the effective values the build and runtime use."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    build: Build | None = None
    run: str | None = None
    predict: str | None = None
    train: str | None = None
    image: str | None = None
    model: str | None = None
    concurrency: Concurrency | None = None
    environment: tuple[str, ...] = ()
    weights: tuple[Weight, ...] = ()

    @field_validator("environment", "weights", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return () if value is None else value

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        seen: set[str] = set()
        for item in value:
            name = item.split("=", 1)[0]
            if "\n" in item or "\r" in item:
                raise invalid("environment", "values must be on one line", item.strip())
            if name in RESERVED_ENV_NAMES or name.startswith(RESERVED_ENV_PREFIXES):
                raise invalid(
                    "environment",
                    f'environment variable "{name}" is not allowed: reserved for internal use',
                    item,
                )
            if name in seen:
                raise invalid(
                    "environment", f'environment variable "{name}" is already defined', item
                )
            seen.add(name)
        return value

    @field_validator("model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        if value is not None and ("@" in value or ":" in value.rsplit("/", 1)[-1]):
            raise invalid("model", "must be a bare repository, without a tag or digest", value)
        return value

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> Config:
        project_dir = _project_dir(info)
        for field, example in (
            ("run", "run.py:Runner"),
            ("predict", "predict.py:Predictor"),
            ("train", "train.py:Trainer"),
        ):
            ref = getattr(self, field)
            if ref is not None:
                _check_ref(field, ref, example, project_dir)
        if self.image is not None and self.model is not None:
            raise invalid("cog.yaml", "only one of image or model can be set")
        if self.concurrency is not None and self.concurrency.max > 1:
            if python_minor(self.python_version) < (3, 11):
                raise invalid(
                    "concurrency.max",
                    "concurrency requires Python 3.11 or higher "
                    f'(build.python_version is "{self.python_version}")',
                    self.concurrency.max,
                )
        self._check_weights()
        return self

    def _check_weights(self) -> None:
        if not self.weights:
            return
        if self.model is None:
            raise invalid("weights", 'weights require "model" to be set (and "image" unset)')
        names: dict[str, int] = {}
        targets: list[tuple[int, PurePosixPath]] = []
        for i, weight in enumerate(self.weights):
            if weight.name in names:
                raise invalid(
                    f"weights[{i}].name",
                    f"the name is already used by weights[{names[weight.name]}]",
                    weight.name,
                )
            names[weight.name] = i
            target = PurePosixPath(weight.target)
            if not target.is_absolute():
                raise invalid(f"weights[{i}].target", "must be an absolute path", weight.target)
            if str(target) == "/":
                raise invalid(f"weights[{i}].target", 'must not be "/"', weight.target)
            for j, other in targets:
                if target == other or target.is_relative_to(other) or other.is_relative_to(target):
                    raise invalid(
                        f"weights[{i}].target",
                        f'overlaps weights[{j}].target "{other}"; targets must be distinct',
                        weight.target,
                    )
            targets.append((i, target))
            for k, source in enumerate(weight.source):
                _check_weight_source(f"weights[{i}].source[{k}]", source)

    def to_document(self) -> dict[str, Any]:
        """The config as a cog.yaml mapping (valid against the schema; for labels and debug)."""
        document: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        return document

    @property
    def predict_ref(self) -> str | None:
        """The runner reference: `run`, or the deprecated `predict`."""
        return self.run if self.run is not None else self.predict

    @property
    def train_ref(self) -> str | None:
        return self.train

    @property
    def python_version(self) -> str:
        """`build.python_version`, or Cog's legacy default when there is no `build` section."""
        return self.build.python_version if self.build else DEFAULT_PYTHON_VERSION

    @property
    def gpu(self) -> bool:
        return bool(self.build and self.build.gpu)

    @property
    def environment_variables(self) -> dict[str, str]:
        """`environment` as a mapping, in file order."""
        return dict(item.split("=", 1) for item in self.environment)  # type: ignore[misc]

    @property
    def max_concurrency(self) -> int:
        """`concurrency.max`, 1 when unset (a `@cog.concurrent` decorator may raise it)."""
        return self.concurrency.max if self.concurrency else 1

    @property
    def system_packages(self) -> tuple[str, ...]:
        return self.build.system_packages if self.build else ()

    @property
    def run_commands(self) -> tuple[RunCommand, ...]:
        return self.build.run_commands if self.build else ()


def check_runner_concurrency(config: Config, *, runner_is_async: bool) -> None:
    """`concurrency.max` > 1 needs an async runner; call once the runner is loaded."""
    if config.concurrency is not None and config.concurrency.max > 1 and not runner_is_async:
        raise invalid(
            "concurrency.max",
            "concurrency above 1 requires an async runner (async def run() or predict())",
            config.concurrency.max,
        )


def _check_ref(field: str, ref: str, example: str, project_dir: Path | None) -> None:
    parts = ref.split(".py:")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise invalid(field, f"must be in the form '{example}'", ref)
    if not _inside(project_dir, parts[0] + ".py"):
        raise invalid(field, "must point to a file inside the project directory", ref)


def _check_weight_source(field: str, source: WeightSource) -> None:
    uri = source.uri
    if not uri:
        raise invalid(f"{field}.uri", "must not be empty", uri)
    if "://" in uri and not uri.startswith(_WEIGHT_SCHEMES):
        raise invalid(
            f"{field}.uri", "must start with hf://, file:// or https://, or be a local path", uri
        )
    for kind in ("include", "exclude"):
        for n, pattern in enumerate(getattr(source, kind)):
            where = f"{field}.{kind}[{n}]"
            if not pattern:
                raise invalid(where, "patterns must not be empty")
            if pattern.startswith("!"):
                raise invalid(where, "negation with '!' is not supported; use exclude", pattern)
            if "\\" in pattern:
                raise invalid(where, "patterns must use '/', not backslashes", pattern)
