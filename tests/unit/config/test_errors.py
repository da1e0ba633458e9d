"""Every cog.yaml error of spec §5, each with its message."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import pytest

from cog.config import ConfigError, ConfigWarning, load_config


def write(tmp_path: Path, text: str, name: str = "cog.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfigWarning)
        load_config(path)
    return str(info.value)


PY = 'build:\n  python_version: "3.12"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Parsing and shape.
        ("build: [unclosed", "failed to parse cog.yaml: invalid YAML: "),
        (
            PY + "  gpu: true\n  gpu: false\n",
            'failed to parse cog.yaml: invalid YAML: mapping key "gpu" is repeated '
            "(first defined on line 3) at line 4",
        ),
        ("- a\n- b\n", 'schema error in "cog.yaml": must be a mapping'),
        ("build: 3\n", 'schema error in "build": must be a mapping'),
        (
            "foo: 1\n",
            'schema error in "cog.yaml": unknown field "foo" is not allowed; allowed fields: '
            "build, image, model, run, predict, train, concurrency, environment, weights",
        ),
        (PY + "  fast_mode: true\n", 'schema error in "build": unknown field "fast_mode"'),
        (PY + "  gpu: yes please\n", 'schema error in "build.gpu": must be a boolean'),
        (
            PY + "  system_packages: ffmpeg\n",
            'schema error in "build.system_packages": must be a list',
        ),
        (
            PY + "  system_packages: [3]\n",
            'schema error in "build.system_packages[0]": must be a string',
        ),
        (PY + "  cuda: 11.8\n", 'schema error in "build.cuda": must be a string'),
        ("run: [predict.py]\n", 'schema error in "run": must be a string'),
        (
            "concurrency: {default_target: 2}\n",
            'schema error in "concurrency": missing required field "max"',
        ),
        ("concurrency: {max: 2, min: 1}\n", 'schema error in "concurrency": unknown field "min"'),
        ("concurrency: {max: two}\n", 'schema error in "concurrency.max": must be an integer'),
        (
            PY + "  run:\n    - {mounts: []}\n",
            'schema error in "build.run[0]": missing required field "command"',
        ),
        (
            PY + "  run:\n    - command: ls\n      mounts: [{type: cache, id: a, target: /a}]\n",
            'invalid build.run[0].mounts[0].type "cache": must be one of: secret',
        ),
        # python_version.
        ("build:\n  gpu: false\n", "python_version is required. Add it to the build section"),
        (
            "build:\n  python_version: 3.10\n",
            'invalid build.python_version "3.1": minimum supported Python version is 3.10 '
            '(an unquoted 3.10 in YAML is the number 3.1: quote it, python_version: "3.10")',
        ),
        (
            'build:\n  python_version: "3.9"\n',
            'invalid build.python_version "3.9": minimum supported Python version is 3.10',
        ),
        (
            'build:\n  python_version: "three"\n',
            'invalid build.python_version "three": must be major.minor or major.minor.patch',
        ),
        (
            "build:\n  python_version: [3]\n",
            'schema error in "build.python_version": must be a string or number',
        ),
        # run / predict / train references.
        (
            "run: predict.py:Runner\npredict: predict.py:Predictor\n",
            "invalid cog.yaml: only one of run or predict can be set",
        ),
        ("run: run.py\n", "invalid run \"run.py\": must be in the form 'run.py:Runner'"),
        (
            "predict: predict:Predictor\n",
            "invalid predict \"predict:Predictor\": must be in the form 'predict.py:Predictor'",
        ),
        (
            'train: "train.py:"\n',
            "invalid train \"train.py:\": must be in the form 'train.py:Trainer'",
        ),
        (
            "run: ../other/predict.py:Runner\n",
            'invalid run "../other/predict.py:Runner": must point to a file inside the project directory',
        ),
        (
            "run: /abs/predict.py:Runner\n",
            'invalid run "/abs/predict.py:Runner": must point to a file inside the project directory',
        ),
        # environment.
        (
            "environment: [FOO]\n",
            'invalid environment[0] "FOO": must be in the form NAME=value',
        ),
        (
            "environment: [1X=2]\n",
            'invalid environment[0] "1X=2": must be in the form NAME=value',
        ),
        (
            'environment: ["A=1\\n"]\n',
            'invalid environment "A=1": values must be on one line',
        ),
        (
            "environment: [A=1, A=2]\n",
            'invalid environment "A=2": environment variable "A" is already defined',
        ),
        (
            "environment: [PATH=/x]\n",
            'invalid environment "PATH=/x": environment variable "PATH" is not allowed: '
            "reserved for internal use",
        ),
        (
            "environment: [CUDA_HOME=/x]\n",
            'environment variable "CUDA_HOME" is not allowed: reserved for internal use',
        ),
        (
            "environment: [R8_X=1]\n",
            'environment variable "R8_X" is not allowed: reserved for internal use',
        ),
        (
            "environment: [KUBERNETES_PORT=1]\n",
            'environment variable "KUBERNETES_PORT" is not allowed: reserved for internal use',
        ),
        (
            "environment: [HF_ENDPOINT=x]\n",
            'environment variable "HF_ENDPOINT" is not allowed: reserved for internal use',
        ),
        # concurrency.
        (
            'build:\n  python_version: "3.10"\nconcurrency: {max: 4}\n',
            'invalid concurrency.max "4": concurrency requires Python 3.11 or higher '
            '(build.python_version is "3.10")',
        ),
        ("concurrency: {max: 0}\n", 'invalid concurrency.max "0": must be at least 1'),
        # CUDA / cuDNN.
        (
            PY + '  cuda: "10.2"\n',
            'invalid build.cuda "10.2": minimum supported CUDA version is 11.0',
        ),
        (
            PY + '  cuda: "12"\n',
            'invalid build.cuda "12": must include both major and minor versions',
        ),
        (
            PY + '  cuda: "twelve"\n',
            'invalid build.cuda "twelve": must be a CUDA version such as 11.8',
        ),
        (
            PY + '  cudnn: "v8"\n',
            'invalid build.cudnn "v8": must be a cuDNN version such as 8 or 9',
        ),
        # Python packages.
        (
            PY + "  python_packages: [torch==2.0.1]\n  python_requirements: requirements.txt\n",
            "invalid build: only one of python_packages or python_requirements can be set, not both",
        ),
        (PY + "  python_requirements: missing.txt\n", 'missing.txt": file does not exist'),
        # run commands.
        (
            PY + '  run:\n    - "echo one\\necho two"\n',
            "invalid build.run[0]: One of the commands in 'run' contains a new line, which won't "
            "work. You need to create a new list item in YAML prefixed with '-' for each command.",
        ),
        (
            PY + '  pre_install:\n    - "a\\nb"\n',
            "invalid build.pre_install[0]: One of the commands in 'run' contains a new line",
        ),
        # sdk_version.
        (
            PY + '  sdk_version: "latest"\n',
            'invalid build.sdk_version "latest": must be a PEP 440 version',
        ),
        (
            PY + '  sdk_version: "0.15.9"\n',
            'invalid build.sdk_version "0.15.9": minimum supported SDK version is 0.16.0',
        ),
        # image / model / weights.
        ("image: a/b\nmodel: a/c\n", "invalid cog.yaml: only one of image or model can be set"),
        (
            "model: r8.im/a/b:latest\n",
            'invalid model "r8.im/a/b:latest": must be a bare repository',
        ),
        (
            "model: r8.im/a/b@sha256:00\n",
            'invalid model "r8.im/a/b@sha256:00": must be a bare repository',
        ),
        (
            "weights: [{name: w, target: /w, source: {uri: hf://a/b}}]\n",
            'invalid weights: weights require "model" to be set',
        ),
        (
            "model: a/b\nweights: [{name: W, target: /w, source: {uri: hf://a/b}}]\n",
            'invalid weights[0].name "W": must be lowercase letters and digits',
        ),
        (
            "model: a/b\nweights:\n  - {name: w, target: /w, source: {uri: hf://a/b}}\n"
            "  - {name: w, target: /v, source: {uri: hf://a/c}}\n",
            'invalid weights[1].name "w": the name is already used by weights[0]',
        ),
        (
            "model: a/b\nweights: [{name: w, target: w, source: {uri: hf://a/b}}]\n",
            'invalid weights[0].target "w": must be an absolute path',
        ),
        (
            "model: a/b\nweights: [{name: w, target: /, source: {uri: hf://a/b}}]\n",
            'invalid weights[0].target "/": must not be "/"',
        ),
        (
            "model: a/b\nweights:\n  - {name: a, target: /w, source: {uri: hf://a/b}}\n"
            "  - {name: b, target: /w/sub, source: {uri: hf://a/c}}\n",
            'invalid weights[1].target "/w/sub": overlaps weights[0].target "/w"',
        ),
        (
            "model: a/b\nweights: [{name: w, target: /w, source: []}]\n",
            'schema error in "weights[0].source": must have at least 1 item',
        ),
        (
            "model: a/b\nweights: [{name: w, target: /w, source: {uri: s3://b/k}}]\n",
            'invalid weights[0].source[0].uri "s3://b/k": must start with hf://, file:// or https://',
        ),
        (
            "model: a/b\nweights: [{name: w, target: /w, source: {uri: hf://a/b, include: ['!x']}}]\n",
            "invalid weights[0].source[0].include[0] \"!x\": negation with '!' is not supported",
        ),
        (
            "model: a/b\nweights: [{name: w, target: /w, source: {uri: hf://a/b, exclude: ['a\\b']}}]\n",
            "invalid weights[0].source[0].exclude[0] \"a\\b\": patterns must use '/', not backslashes",
        ),
        (
            "model: a/b\nweights: [{name: w, target: /w, source: {uri: hf://a/b, exclude: ['']}}]\n",
            "invalid weights[0].source[0].exclude[0]: patterns must not be empty",
        ),
        (
            "model: a/b\nweights: [{name: w, target: /w, source: {uri: hf://a/b, extra: 1}}]\n",
            'schema error in "weights[0].source": unknown field "extra"',
        ),
    ],
)
def test_error_message(tmp_path: Path, text: str, message: str) -> None:
    assert message in error_for(tmp_path, text)


def test_errors_name_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, PY + "  gpu: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.field == "build.gpu"


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        ("predict: predict.py:Predictor\n", 'deprecated field "predict": use "run" instead'),
        (
            PY + "  python_packages: [numpy==1.26.0]\n",
            'deprecated field "build.python_packages": use "build.python_requirements" instead',
        ),
        (
            PY + "  pre_install: [echo hi]\n",
            'deprecated field "build.pre_install": use "build.run" instead',
        ),
        (PY + "  fast: true\n", 'deprecated field "build.fast": no longer supported, ignored'),
        (PY + "  cog_runtime: true\n", 'deprecated field "build.cog_runtime": no longer supported'),
        (
            PY + "  python_overrides: o.txt\n",
            'deprecated field "build.python_overrides": no longer',
        ),
        ("concurrency: {max: 1}\n", 'deprecated field "concurrency": use the @cog.concurrent'),
    ],
)
def test_deprecated_keys_warn_and_load(tmp_path: Path, text: str, warning: str) -> None:
    path = write(tmp_path, text)
    with pytest.warns(ConfigWarning, match=None) as record:
        load_config(path)
    assert any(warning in str(w.message) for w in record), [str(w.message) for w in record]


def test_requirements_path_is_relative_to_the_project(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "req.txt").write_text("numpy\n")
    write(tmp_path, PY + "  python_requirements: req.txt\n")
    config, root = load_config(tmp_path / "cog.yaml")
    assert root == tmp_path.resolve()
    assert config.build is not None and config.build.python_requirements == "req.txt"
