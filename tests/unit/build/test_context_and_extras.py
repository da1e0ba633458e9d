"""Custom CA input forms, build-context excludes, weight discovery and image labels."""

from __future__ import annotations

import base64
import json
import warnings
import zlib
from pathlib import Path

import pytest

from cog.build import (
    context_excludes,
    context_paths,
    find_weights,
    generate_build,
    image_labels,
    read_ca_cert,
    weights_changed,
    weights_dockerfile,
    weights_manifest,
    write_staged,
)
from cog.config import ConfigError, ConfigWarning, validate_document

PEM_A = "-----BEGIN CERTIFICATE-----\nQUFBQQ==\n-----END CERTIFICATE-----\n"
PEM_B = "-----BEGIN CERTIFICATE-----\nQkJCQg==\n-----END CERTIFICATE-----\n"


# COG_CA_CERT --------------------------------------------------------------------------------


def test_ca_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "ca.pem"
    path.write_text(PEM_A)
    assert read_ca_cert(str(path)) == PEM_A


def test_ca_from_a_directory(tmp_path: Path) -> None:
    (tmp_path / "b.crt").write_text(PEM_B.rstrip("\n"))
    (tmp_path / "a.pem").write_text(PEM_A)
    (tmp_path / "notes.txt").write_text("not a certificate")
    assert read_ca_cert(str(tmp_path)) == PEM_A + PEM_B


def test_ca_inline_and_with_escaped_newlines() -> None:
    assert read_ca_cert(PEM_A) == PEM_A
    assert read_ca_cert(PEM_A.replace("\n", "\\n")) == PEM_A


def test_ca_base64() -> None:
    assert read_ca_cert(base64.b64encode(PEM_A.encode()).decode()) == PEM_A


def test_ca_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COG_CA_CERT", PEM_B)
    assert read_ca_cert() == PEM_B
    monkeypatch.delenv("COG_CA_CERT")
    assert read_ca_cert() is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/no/such/file.pem", "must be a PEM file, a directory of .crt/.pem files, inline PEM"),
        ("bm90IGEgY2VydA==", "must be a PEM file"),
        ("-----BEGIN PRIVATE KEY-----\nx\n", "no certificate found"),
    ],
)
def test_ca_errors(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match="invalid COG_CA_CERT") as info:
        read_ca_cert(value)
    assert message in str(info.value)


def test_ca_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="the directory has no .crt or .pem files"):
        read_ca_cert(str(tmp_path))


# Build context ------------------------------------------------------------------------------


def make_tree(root: Path, paths: list[str]) -> None:
    for relative in paths:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(relative)


def test_context_excludes_cog_dir_but_keeps_staged_files(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        [
            "predict.py",
            "data/x.csv",
            "secret.env",
            ".cog/openapi_schema.json",
            ".cog/cache/weights_manifest.json",
            ".cog/build/requirements.txt",
        ],
    )
    (tmp_path / ".dockerignore").write_text("# secrets\n\nsecret.env\n!.cog\n")
    excludes = context_excludes(tmp_path)
    assert excludes == ["secret.env", "!.cog", ".cog", "!.cog/build"]
    files = [p for p in context_paths(tmp_path, excludes) if (tmp_path / p).is_file()]
    assert files == [".cog/build/requirements.txt", ".dockerignore", "data/x.csv", "predict.py"]


def test_context_extra_excludes(tmp_path: Path) -> None:
    make_tree(tmp_path, ["predict.py", "weights/model.bin"])
    files = context_paths(tmp_path, context_excludes(tmp_path, ["weights"]))
    assert files == ["predict.py"]


def test_write_staged(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("numpy\n")
    wheel = tmp_path / "dist" / "cogpy-0.1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"PK\x03\x04")
    config = validate_document(
        {"build": {"python_version": "3.11", "python_requirements": "requirements.txt"}},
        tmp_path,
    )
    plan = generate_build(config, tmp_path, runtime_wheel=wheel, ca_cert=PEM_A)
    (tmp_path / ".cog" / "build").mkdir(parents=True)
    (tmp_path / ".cog" / "build" / "stale.txt").write_text("old")
    staged = write_staged(plan, tmp_path)
    assert sorted(p.name for p in staged.iterdir()) == [
        "cog-ca.crt",
        "cogpy-0.1.0-py3-none-any.whl",
        "requirements.txt",
    ]
    assert (staged / "cogpy-0.1.0-py3-none-any.whl").read_bytes() == b"PK\x03\x04"
    assert (staged / "cog-ca.crt").read_text() == PEM_A
    # Every file the Dockerfile copies from the staging area is there.
    for line in plan.dockerfile.splitlines():
        if line.startswith("COPY .cog/build/"):
            assert (tmp_path / line.split()[1]).exists(), line


def test_runtime_from_the_index_without_a_wheel(tmp_path: Path) -> None:
    from cog import __version__

    config = validate_document({"build": {"python_version": "3.11"}}, tmp_path)
    plan = generate_build(config, tmp_path, runtime_wheel=None, ca_cert="")
    assert (
        f"pip install --disable-pip-version-check --cache-dir /root/.cache/pip cogpy=={__version__}"
        in plan.dockerfile
    )
    assert plan.staged == {}


def test_other_config_file_name_is_copied_to_cog_yaml(tmp_path: Path) -> None:
    config = validate_document({"build": {"python_version": "3.11"}}, tmp_path)
    text = generate_build(
        config, tmp_path, runtime_wheel=None, ca_cert="", config_filename="cog.gpu.yaml"
    ).dockerfile
    assert text.endswith('COPY . /src\nRUN cp "/src/cog.gpu.yaml" /src/cog.yaml\n')


def test_decorator_concurrency_when_yaml_has_none(tmp_path: Path) -> None:
    config = validate_document({"build": {"python_version": "3.11"}}, tmp_path)
    text = generate_build(
        config, tmp_path, runtime_wheel=None, ca_cert="", max_concurrency=8
    ).dockerfile
    assert "ENV COG_MAX_CONCURRENCY=8" in text.splitlines()


# Separate weights ---------------------------------------------------------------------------


def sized(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)  # sparse: cheap on disk


def test_find_weights(tmp_path: Path) -> None:
    big = 10 * 1024 * 1024
    sized(tmp_path / "model.safetensors", big)
    sized(tmp_path / "small.bin", big - 1)
    sized(tmp_path / "weights" / "a.bin", big)
    sized(tmp_path / "weights" / "deep" / "b.bin", big)
    sized(tmp_path / "checkpoints" / "c.pt", big)
    (tmp_path / "checkpoints" / "convert.py").write_text("print()")
    sized(tmp_path / "media" / "video.mp4", big)
    sized(tmp_path / ".git" / "objects" / "pack.bin", big)
    sized(tmp_path / ".cog" / "cache.bin", big)
    weights = find_weights(tmp_path)
    assert weights.files == ("model.safetensors",)
    assert weights.directories == ("weights",)
    assert weights_dockerfile(weights) == (
        "FROM scratch\n"
        'COPY ["weights", "/src/weights"]\n'
        'COPY ["model.safetensors", "/src/model.safetensors"]\n'
    )


@pytest.mark.parametrize("copy_link, flags", [(True, " --link"), (False, "")])
def test_separate_weights_dockerfile(tmp_path: Path, copy_link: bool, flags: str) -> None:
    """`COPY --link` as Cog writes it, left out for engines without it."""
    sized(tmp_path / "weights" / "a.bin", 10 * 1024 * 1024)
    config = validate_document({"build": {"python_version": "3.11"}}, tmp_path)
    text = generate_build(
        config,
        tmp_path,
        runtime_wheel=None,
        ca_cert="",
        separate_weights=find_weights(tmp_path),
        weights_image="my-model-weights",
        copy_link=copy_link,
    ).dockerfile
    lines = text.splitlines()
    assert lines[1] == "FROM my-model-weights AS weights"
    assert lines[2] == "FROM python:3.11-slim"
    copy = f'COPY --from=weights{flags} ["/src/weights", "/src/weights"]'
    assert lines.index(copy) == lines.index("WORKDIR /src") - 1
    assert ("--link" in text) == copy_link


# Labels -------------------------------------------------------------------------------------


def test_image_labels(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("torch==2.1.0\n")
    config = validate_document(
        {
            "build": {
                "python_version": "3.11",
                "gpu": True,
                "python_requirements": "requirements.txt",
            },
            "run": "predict.py:Predictor",
        },
        tmp_path,
    )
    schema = {"openapi": "3.0.2", "info": {"title": "Cog", "version": "0.1.0"}}
    labels = image_labels(config, tmp_path, schema, max_concurrency=3, version="9.9.9")
    assert labels["run.cog.version"] == "9.9.9"
    assert labels["run.cog.has_init"] == "true"
    assert labels["run.cog.openapi_schema"] == json.dumps(schema, separators=(",", ":"))
    effective = json.loads(labels["run.cog.config"])
    assert effective["build"]["cuda"] == "12.1" and effective["build"]["cudnn"] == "8"
    assert effective["concurrency"] == {"max": 3}
    assert effective["run"] == "predict.py:Predictor"
    assert " " not in labels["run.cog.config"]
    # The label holds a valid cog.yaml.
    with pytest.warns(ConfigWarning, match="concurrency"):
        again = validate_document(effective, tmp_path)
    assert again.build is not None and (again.build.cuda, again.build.cudnn) == ("12.1", "8")


def test_git_requirements_need_git(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("git+https://example.invalid/repo.git@v1\n")
    document = {"build": {"python_version": "3.11", "python_requirements": "requirements.txt"}}
    config = validate_document(document, tmp_path)
    with pytest.warns(
        ConfigWarning, match="needs git in the image: add git to build.system_packages"
    ):
        generate_build(config, tmp_path, runtime_wheel=None, ca_cert="")
    document["build"]["system_packages"] = ["git"]  # type: ignore[index]
    config = validate_document(document, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        generate_build(config, tmp_path, runtime_wheel=None, ca_cert="")


def test_weights_manifest_detects_changes(tmp_path: Path) -> None:
    sized(tmp_path / "weights" / "a.bin", 10 * 1024 * 1024)
    sized(tmp_path / "model.bin", 10 * 1024 * 1024)
    weights = find_weights(tmp_path)
    manifest = weights_manifest(tmp_path, weights)
    assert manifest == {
        "model.bin": f"{zlib.crc32(bytes(10 * 1024 * 1024)):08x}",
        "weights/a.bin": manifest["weights/a.bin"],
    }
    assert weights_changed(tmp_path, weights) is True  # first build
    assert (tmp_path / ".cog" / "cache" / "weights_manifest.json").is_file()
    assert weights_changed(tmp_path, weights) is False
    with open(tmp_path / "weights" / "a.bin", "r+b") as f:
        f.write(b"\x01")
    assert weights_changed(tmp_path, weights) is True
    assert weights_changed(tmp_path, weights) is False
