"""Discovery, valid configs, effective values and round trips of cog.yaml."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from cog.config import (
    ConfigError,
    ConfigWarning,
    check_runner_concurrency,
    load_config,
    validate_document,
)

FULL = """\
build:
  python_version: "3.12.4"
  gpu: true
  cuda: "12.1"
  cudnn: "8"
  python_requirements: requirements.txt
  system_packages: [ffmpeg, libgl1]
  run:
    - echo plain
    - command: pip download --index-url $(cat /run/secrets/idx) thing
      mounts:
        - type: secret
          id: idx
          target: /run/secrets/idx
    - |
      echo block-scalar
  sdk_version: "0.18.0a1"
run: src/predict.py:Runner
train: train.py:train
image: r8.im/me/model
concurrency:
  max: 4
  default_target: 2
environment:
  - B=2
  - A=x=y
"""

# Deprecated keys appear on purpose; the warnings themselves are tested in test_errors.py.
pytestmark = pytest.mark.filterwarnings("ignore::cog.config.ConfigWarning")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "cog.yaml").write_text(FULL)
    (tmp_path / "requirements.txt").write_text("numpy==1.26.4\n")
    return tmp_path


def test_full_config_values(project: Path) -> None:
    config, root = load_config(project / "cog.yaml")
    assert root == project.resolve()
    assert config.build is not None
    assert config.python_version == "3.12.4"
    assert config.gpu is True
    assert config.build.cuda == "12.1" and config.build.cudnn == "8"
    assert config.system_packages == ("ffmpeg", "libgl1")
    commands = [c.command for c in config.run_commands]
    assert commands == [
        "echo plain",
        "pip download --index-url $(cat /run/secrets/idx) thing",
        "echo block-scalar",
    ]
    mount = config.run_commands[1].mounts[0]
    assert (mount.type, mount.id, mount.target) == ("secret", "idx", "/run/secrets/idx")
    assert config.predict_ref == "src/predict.py:Runner"
    assert config.train_ref == "train.py:train"
    assert config.max_concurrency == 4
    assert config.environment_variables == {"B": "2", "A": "x=y"}


def test_round_trip(project: Path) -> None:
    config, root = load_config(project / "cog.yaml")
    again = validate_document(config.to_document(), root)
    assert again == config
    assert again.to_document() == config.to_document()


def test_predict_is_an_alias_of_run(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text("predict: predict.py:Predictor\n")
    with pytest.warns(ConfigWarning):
        config, _ = load_config(tmp_path / "cog.yaml")
    assert config.predict_ref == "predict.py:Predictor"


def test_pre_install_is_appended_to_run(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\n  run: [echo a]\n  pre_install: [echo b]\n'
    )
    with pytest.warns(ConfigWarning):
        config, _ = load_config(tmp_path / "cog.yaml")
    assert [c.command for c in config.run_commands] == ["echo a", "echo b"]


def test_empty_file_is_valid_with_defaults(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text("")
    config, _ = load_config(tmp_path / "cog.yaml")
    assert config.build is None
    assert config.predict_ref is None and config.train_ref is None
    assert config.python_version == "3.13"
    assert config.gpu is False and config.max_concurrency == 1
    assert config.environment == () and config.run_commands == ()


@pytest.mark.parametrize("version", ["3.10", "3.11", "3.12", "3.13", "3.11.9"])
def test_supported_python_versions(tmp_path: Path, version: str) -> None:
    (tmp_path / "cog.yaml").write_text(f'build:\n  python_version: "{version}"\n')
    config, _ = load_config(tmp_path / "cog.yaml")
    assert config.python_version == version


def test_unquoted_number_that_survives_yaml(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text("build:\n  python_version: 3.12\n")
    config, _ = load_config(tmp_path / "cog.yaml")
    assert config.python_version == "3.12"


def test_concurrency_above_one_with_python_311(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text('build:\n  python_version: "3.11"\nconcurrency: {max: 8}\n')
    with pytest.warns(ConfigWarning):
        config, _ = load_config(tmp_path / "cog.yaml")
    assert config.max_concurrency == 8


def test_weights_with_model(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text(
        textwrap.dedent(
            """\
            model: r8.im/me/model
            weights:
              - name: base.v1
                target: /weights/base
                source: {uri: "hf://org/repo", include: ["*.safetensors"]}
              - name: lora
                target: /weights/lora
                source:
                  - {uri: "https://example.invalid/a.bin"}
                  - {uri: "./local/dir", exclude: ["*.md"]}
            """
        )
    )
    config, _ = load_config(tmp_path / "cog.yaml")
    assert [w.name for w in config.weights] == ["base.v1", "lora"]
    assert config.weights[0].source[0].include == ("*.safetensors",)
    assert [s.uri for s in config.weights[1].source] == [
        "https://example.invalid/a.bin",
        "./local/dir",
    ]


def test_discovery_walks_up_from_a_subdirectory(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = project / "a" / "b" / "c"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    config, root = load_config()
    assert root == project.resolve()
    assert config.predict_ref == "src/predict.py:Runner"


def test_discovery_of_a_named_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cog.yaml").write_text('build:\n  python_version: "3.11"\n')
    (tmp_path / "cog.gpu.yaml").write_text('build:\n  python_version: "3.12"\n  gpu: true\n')
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    config, root = load_config("cog.gpu.yaml")
    assert root == tmp_path.resolve() and config.gpu is True
    config, _ = load_config(tmp_path)
    assert config.gpu is False


def test_discovery_failure_names_the_file_and_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("other.yaml")
    assert f"other.yaml not found in {tmp_path.resolve()} or any parent directory" in str(
        info.value
    )


def test_explicit_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nested" / "cog.yaml")


def test_reference_into_a_subdirectory_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text("run: src/models/predict.py:Runner\n")
    config, _ = load_config(os.fspath(tmp_path / "cog.yaml"))
    assert config.predict_ref == "src/models/predict.py:Runner"


def test_concurrency_needs_an_async_runner(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text('build:\n  python_version: "3.12"\nconcurrency: {max: 2}\n')
    config, _ = load_config(tmp_path / "cog.yaml")
    check_runner_concurrency(config, runner_is_async=True)
    with pytest.raises(ConfigError) as info:
        check_runner_concurrency(config, runner_is_async=False)
    assert str(info.value) == (
        'invalid concurrency.max "2": concurrency above 1 requires an async runner '
        "(async def run() or predict())"
    )


@pytest.mark.parametrize("ref", ["../predict.py:P", "a/../../predict.py:P", "/srv/predict.py:P"])
def test_refs_outside_the_project_without_a_project_dir(ref: str) -> None:
    with pytest.raises(ConfigError, match="must point to a file inside the project directory"):
        validate_document({"run": ref})
    assert validate_document({"run": "a/../predict.py:P"}).predict_ref == "a/../predict.py:P"
