"""Image names, push targets, build secrets and engine quirks: pure logic."""

from __future__ import annotations

import pytest

from cog.cli.build import parse_secrets, weights_ref
from cog.cli.errors import CLIError
from cog.cli.project import image_name_for_dir
from cog.engine.docker import _as_localhost, _split_ref, copy_link_supported


def test_default_image_name_from_the_directory() -> None:
    assert image_name_for_dir("hello-world") == "cog-hello-world"
    assert image_name_for_dir("My Model_v2!") == "cog-my-modelv2"
    assert len(image_name_for_dir("x" * 80)) == 30


def test_weights_image_name_keeps_the_tag() -> None:
    assert weights_ref("r8.im/me/model") == "r8.im/me/model-weights"
    assert weights_ref("localhost:5000/model:v1") == "localhost:5000/model-weights:v1"


def test_refs_split_at_the_tag_colon_not_the_port() -> None:
    assert _split_ref("localhost:5000/model:v1") == ("localhost:5000/model", ":", "v1")
    assert _split_ref("localhost:5000/model") == ("localhost:5000/model", "", None)
    assert _split_ref("model@sha256:abc") == ("model@sha256:abc", "", None)


def test_secrets_from_files_and_environment(tmp_path, monkeypatch) -> None:
    (tmp_path / "token").write_bytes(b"from-file")
    monkeypatch.setenv("MY_TOKEN", "from-env")
    assert parse_secrets([f"id=a,src={tmp_path / 'token'}", "id=b,env=MY_TOKEN"]) == {
        "a": b"from-file",
        "b": b"from-env",
    }
    with pytest.raises(CLIError, match="environment variable NOPE_NOT_SET is not set"):
        parse_secrets(["id=c,env=NOPE_NOT_SET"])
    with pytest.raises(CLIError, match="expected id=NAME,src=PATH or id=NAME,env=VARIABLE"):
        parse_secrets(["id=d,src=x,env=Y"])


def test_copy_link_only_where_the_engine_takes_it() -> None:
    assert copy_link_supported("docker", "27.1.0")
    assert copy_link_supported("podman", "4.6.0")
    assert copy_link_supported("podman", "5.0.2")
    assert not copy_link_supported("podman", "4.3.1")
    assert not copy_link_supported("podman", "")


def test_loopback_registries_are_logged_in_to_as_localhost() -> None:
    assert _as_localhost("127.0.0.1:5001") == "localhost:5001"
    assert _as_localhost("http://[::1]:5002/") == "localhost:5002"
    assert _as_localhost("registry.example.com:5000") is None
    assert _as_localhost("127.0.0.1") is None


def test_a_compiled_wheel_must_match_the_image_python(tmp_path) -> None:
    from pathlib import Path

    from cog.cli.context import check_wheel_python

    check_wheel_python(Path("cogpy-0.1.0-cp311-cp311-linux_x86_64.whl"), "3.11")
    check_wheel_python(Path("cogpy-0.1.0-py3-none-any.whl"), "3.13")
    with pytest.raises(
        CLIError, match=r"built for Python 3\.11, but cog.yaml asks for Python 3\.12"
    ):
        check_wheel_python(Path("cogpy-0.1.0-cp311-cp311-linux_x86_64.whl"), "3.12")
