"""A generated Dockerfile built for real with podman: secret mounts, apt packages, the custom
CA, literal environment values, tini as PID 1 and the runtime entry point.

`cog build` goes through the Docker Engine API, which cannot pass build secrets; this test
drives `podman build --secret` directly so the `build.run` mount syntax is exercised too.
It needs podman and the local `python:3.11-slim` base image (`.ci/containers.sh` makes it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from collections.abc import Iterator

import pytest

from cog import __version__
from cog.build import generate_build, write_staged
from cog.config import load_config
from tests.container.conftest import unavailable

pytestmark = pytest.mark.container

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
BASE = "python:3.11-slim"


def _podman(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("podman") is None:
        unavailable("podman is not installed")
    if _podman("image", "exists", BASE).returncode != 0:
        unavailable(f"no local {BASE} image (.ci/containers.sh builds one)")
    from cog.cli.context import runtime_wheel

    project = tmp_path_factory.mktemp("image-build")
    (project / "predict.py").write_text(
        textwrap.dedent(
            """\
            from cog import BasePredictor


            class Predictor(BasePredictor):
                def predict(self, text: str) -> str:
                    return text
            """
        )
    )
    (project / "cog.yaml").write_text(
        textwrap.dedent(
            """\
            build:
              python_version: "3.11"
              system_packages: [jq]
              run:
                - command: test "$(cat /run/secrets/token)" = sesame && touch /secret-was-mounted
                  mounts:
                    - type: secret
                      id: token
                      target: /run/secrets/token
                - test ! -e /run/secrets/token
            run: predict.py:Predictor
            environment:
              - GREETING=hi $USER "there"
            """
        )
    )
    secret = project.parent / "token"
    secret.write_text("sesame")
    config, root = load_config(project / "cog.yaml")
    ca = CA_BUNDLE if os.path.isfile(CA_BUNDLE) else ""
    plan = generate_build(config, root, runtime_wheel=runtime_wheel(), ca_cert=ca)
    write_staged(plan, root)
    (root / ".cog" / "build" / "Dockerfile").write_text(plan.dockerfile)
    tag = f"cogpy-build-test:{os.getpid()}"
    result = _podman(
        "build",
        "-f",
        ".cog/build/Dockerfile",
        "--secret",
        f"id=token,src={secret}",
        "-t",
        tag,
        str(root),
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    yield tag
    _podman("rmi", "-f", tag)


def run_in(image: str, script: str) -> str:
    result = _podman("run", "--rm", image, "sh", "-c", script)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_secret_was_mounted_for_the_command_only(image: str) -> None:
    assert run_in(image, "test -e /secret-was-mounted && echo yes") == "yes"


def test_system_packages_and_environment(image: str) -> None:
    assert run_in(image, "command -v jq") == "/usr/bin/jq"
    assert run_in(image, 'printf %s "$GREETING"') == 'hi $USER "there"'


def test_ca_is_trusted_by_the_tools(image: str) -> None:
    if not os.path.isfile(CA_BUNDLE):
        pytest.skip("no CA bundle on this machine")
    out = run_in(image, 'echo "$SSL_CERT_FILE $REQUESTS_CA_BUNDLE $PIP_CERT"')
    assert out == " ".join([CA_BUNDLE] * 3)
    assert run_in(image, "test -s /usr/local/share/ca-certificates/cog-ca.crt && echo ok") == "ok"


def test_entrypoint_command_and_source(image: str) -> None:
    result = _podman(
        "image", "inspect", image, "--format", "{{json .Config.Entrypoint}} {{json .Config.Cmd}}"
    )
    assert result.stdout.strip() == '["/sbin/tini","--"] ["python","-m","cog.server.http"]'
    assert run_in(image, "readlink -f /sbin/tini") == "/usr/bin/tini"
    assert run_in(image, 'pwd; echo "$COG_PREDICT_TYPE_STUB"; ls /src') == (
        "/src\npredict.py:Predictor\ncog.yaml\npredict.py"
    )
    version = run_in(image, "python -c 'import cog.server.http, cog; print(cog.__version__)'")
    assert version == __version__
