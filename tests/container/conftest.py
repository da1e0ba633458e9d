"""Container tests: real images built and run through a real engine (Docker, or Podman's
compatible service). A missing engine fails the suite in CI (CI=true) and skips it elsewhere.
Images are built once per session and shared between tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cog.engine import Engine, EngineError, connect

ROOT = Path(__file__).resolve().parents[2]
PROJECTS = Path(__file__).parent / "projects"
COG = str(Path(sys.executable).with_name("cog"))
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message} (CI=true: the container tests must run; see .ci/containers.sh)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def engine() -> Engine:
    try:
        return connect()
    except EngineError as exc:
        unavailable(f"no container engine: {exc}")
        raise


@pytest.fixture(scope="session")
def cog_env(engine: Engine) -> dict[str, str]:
    """The environment every `cog` subprocess gets: the same engine as this process, and this
    machine's CA bundle for pip inside builds (Cog's COG_CA_CERT feature)."""
    env = dict(os.environ, DOCKER_HOST=engine.base_url, NO_COLOR="1", BUILDKIT_PROGRESS="plain")
    if "COG_CA_CERT" not in env and os.path.isfile(CA_BUNDLE):
        env["COG_CA_CERT"] = CA_BUNDLE
    return env


def run_cog(
    *args: str, cwd: Path, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COG, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("container-projects")


def _copy(source: Path, workdir: Path) -> Path:
    target = workdir / source.name
    if not target.exists():
        shutil.copytree(source, target)
    return target


@pytest.fixture(scope="session")
def hello_project(workdir: Path) -> Path:
    return _copy(ROOT / "examples" / "hello-world", workdir)


@pytest.fixture(scope="session")
def features_project(workdir: Path) -> Path:
    return _copy(PROJECTS / "features", workdir)


def _build(project: Path, tag: str, env: dict[str, str]) -> str:
    result = run_cog("build", "-t", tag, cwd=project, env=env)
    assert result.returncode == 0, f"cog build failed:\n{result.stderr[-6000:]}"
    assert f"Image built as {tag}" in result.stderr
    # BUILDKIT_PROGRESS=plain: every build step is shown as the engine reports it.
    assert re.search(r"^(STEP|Step) 1/\d+ ?: FROM ", result.stderr, re.MULTILINE), result.stderr
    return tag


@pytest.fixture(scope="session")
def hello_image(hello_project: Path, cog_env: dict[str, str]) -> str:
    return _build(hello_project, "cogpy-test-hello:latest", cog_env)


@pytest.fixture(scope="session")
def features_image(features_project: Path, cog_env: dict[str, str]) -> str:
    return _build(features_project, "cogpy-test-features:latest", cog_env)


@pytest.fixture(scope="session")
def registry() -> Iterator[str]:
    """A plain-HTTP registry on loopback (`docker-registry`, started by .ci/containers.sh)."""
    host = os.environ.get("COG_TEST_REGISTRY", "127.0.0.1:5001")
    try:
        requests.get(f"http://{host}/v2/", timeout=5).raise_for_status()
    except requests.RequestException as exc:
        unavailable(f"no image registry at {host}: {exc}")
    yield host


@pytest.fixture(scope="session")
def auth_registry() -> tuple[str, str, str]:
    """(host, user, password) of a loopback registry that wants a login (.ci/containers.sh)."""
    value = os.environ.get("COG_TEST_AUTH_REGISTRY", "")
    credentials, _, host = value.rpartition("@")
    user, _, password = credentials.partition(":")
    if not (host and user and password):
        unavailable("COG_TEST_AUTH_REGISTRY (USER:PASSWORD@HOST:PORT) is not set")
    try:
        reply = requests.get(f"http://{host}/v2/", timeout=5)
    except requests.RequestException as exc:
        unavailable(f"no image registry at {host}: {exc}")
    assert reply.status_code == 401, f"the registry at {host} asks for no login"
    return host, user, password
