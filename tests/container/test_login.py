"""`cog login` against a plain-HTTP loopback registry that wants a user and password: the
engine checks the credentials, they are stored where Docker keeps them, and `cog push`
sends them."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from cog.engine import Engine, EngineError
from tests.container.conftest import COG, run_cog

pytestmark = pytest.mark.container


def _login(
    host: str, user: str, password: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COG, "--registry", host, "login", "-u", user, "--password-stdin"],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_wrong_password_is_refused_and_nothing_is_stored(
    auth_registry: tuple[str, str, str], tmp_path: Path, cog_env
) -> None:
    host, user, _ = auth_registry
    env = dict(cog_env, DOCKER_CONFIG=str(tmp_path / "docker"))
    result = _login(host, user, "not the password", env)
    assert result.returncode == 1
    assert f"login to {host} failed" in result.stderr
    assert "401" in result.stderr or "nauthorized" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "docker" / "config.json").exists()


def test_login_stores_credentials_that_push_uses(
    engine: Engine,
    auth_registry: tuple[str, str, str],
    hello_project: Path,
    hello_image: str,
    tmp_path: Path,
    cog_env,
) -> None:
    host, user, password = auth_registry
    ref = f"{host}/cogpy-test/hello:login-{os.getpid()}"
    # Without credentials the registry refuses the image.
    engine.tag(hello_image, ref)
    with pytest.raises(EngineError, match="(?i)unauthorized|authentication required"):
        engine.push(ref)
    engine.remove_image(ref)

    config_dir = tmp_path / "docker"
    env = dict(cog_env, DOCKER_CONFIG=str(config_dir))
    result = _login(host, user, password, env)
    assert result.returncode == 0, result.stderr
    config_file = config_dir / "config.json"
    message = result.stderr.replace("\n", "")  # the console wraps long lines
    assert f"Logged in to {host} as {user} (credentials stored in {config_file})" in message
    stored = json.loads(config_file.read_text())["auths"][host]["auth"]
    assert base64.b64decode(stored).decode() == f"{user}:{password}"
    assert config_file.stat().st_mode & 0o077 == 0

    result = run_cog("push", ref, cwd=hello_project, env=env)
    assert result.returncode == 0, result.stderr
    assert f"Image '{ref}' pushed" in result.stderr
    pushed = engine.image_id(ref)
    engine.remove_image(ref)
    assert pushed is not None
