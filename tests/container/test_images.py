"""`cog build`, `cog predict IMAGE`, `cog serve` and `cog push` against a real engine."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from cog.engine import Engine
from tests.container.conftest import COG, PROJECTS, run_cog

pytestmark = pytest.mark.container


def test_predict_an_image_prints_the_output(hello_image: str, tmp_path: Path, cog_env) -> None:
    result = run_cog("predict", hello_image, "-i", "text=container", cwd=tmp_path, env=cog_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello container\n"


def test_image_input_errors_use_the_schema_label(hello_image: str, tmp_path: Path, cog_env) -> None:
    result = run_cog("predict", hello_image, "-i", "txt=x", cwd=tmp_path, env=cog_env)
    assert result.returncode == 1
    assert 'unknown input "txt"; valid inputs are: text' in result.stderr


def test_labels_hold_the_config_and_the_schema(engine: Engine, hello_image: str) -> None:
    from cog import __version__

    labels = engine.image_labels(hello_image)
    assert labels["run.cog.version"] == __version__
    config = json.loads(labels["run.cog.config"])
    assert config["run"] == "predict.py:Runner"
    assert config["build"]["python_version"] == "3.11"
    schema = json.loads(labels["run.cog.openapi_schema"])
    assert schema["info"]["version"] == __version__
    assert schema["components"]["schemas"]["Input"]["properties"]["text"]["type"] == "string"
    assert labels["run.cog.has_init"] == "true"
    assert "cogpy" in labels["run.cog.pip_freeze"]


def test_the_image_carries_its_schema_file(engine: Engine, hello_image: str) -> None:
    container = engine.run_detached(hello_image, command=["cat", "/src/.cog/openapi_schema.json"])
    assert container.wait() == 0
    schema = json.loads(container.logs(stderr=False))
    container.remove()
    assert schema == json.loads(engine.image_labels(hello_image)["run.cog.openapi_schema"])


def test_schema_of_a_model_with_image_only_imports_is_generated_in_the_image(
    engine: Engine, features_image: str
) -> None:
    schema = json.loads(engine.image_labels(features_image)["run.cog.openapi_schema"])
    assert schema["components"]["schemas"]["Input"]["required"] == ["name"]
    assert schema["components"]["schemas"]["Output"]["format"] == "uri"


def test_python_and_system_packages_and_a_path_output(
    features_image: str, tmp_path: Path, cog_env
) -> None:
    result = run_cog("predict", features_image, "-i", "name=ada", cwd=tmp_path, env=cog_env)
    assert result.returncode == 0, result.stderr
    assert "Written output to: output.json" in result.stderr
    report = json.loads((tmp_path / "output.json").read_text())
    assert report == {"six": "1.16.0", "jq": '"ada"', "cwd": "/src"}


def test_predict_from_the_project_directory_builds_and_runs(
    features_project: Path, features_image: str, cog_env
) -> None:
    result = run_cog(
        "predict", "-i", "name=dev", "-o", "dev.json", cwd=features_project, env=cog_env
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((features_project / "dev.json").read_text())["jq"] == '"dev"'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_health_check_and_predictions(
    hello_project: Path, hello_image: str, cog_env
) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [COG, "serve", "-p", str(port)],
        cwd=hello_project,
        env=cog_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        status = None
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = requests.get(f"{base}/health-check", timeout=2).json().get("status")
                if status == "READY":
                    break
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.5)
        assert status == "READY", proc.stderr.read() if proc.poll() is not None else status
        reply = requests.post(f"{base}/predictions", json={"input": {"text": "http"}}, timeout=60)
        assert reply.status_code == 200
        assert reply.json()["status"] == "succeeded"
        assert reply.json()["output"] == "hello http"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"Serving at http://localhost:{port}" in err


def test_push_and_pull_back_give_the_same_image(
    engine: Engine, hello_project: Path, hello_image: str, registry: str, cog_env
) -> None:
    ref = f"{registry}/cogpy-test/hello:{os.getpid()}"
    result = run_cog("push", ref, cwd=hello_project, env=cog_env)
    assert result.returncode == 0, result.stderr
    assert f"Image '{ref}' pushed" in result.stderr
    pushed = engine.image_id(ref)
    assert pushed is not None
    engine.remove_image(ref)
    assert engine.image_id(ref) is None
    assert engine.pull(ref) == pushed
    engine.remove_image(ref)


def test_broken_cog_yaml_fails_with_a_clear_message(tmp_path: Path, cog_env) -> None:
    (tmp_path / "cog.yaml").write_text('build:\n  python_version: "3.11"\n  gpu: maybe\n')
    result = run_cog("build", "-t", "cogpy-test-broken", cwd=tmp_path, env=cog_env)
    assert result.returncode == 1
    assert "gpu" in result.stderr
    assert "Traceback" not in result.stderr


def test_failing_build_step_shows_its_log(workdir: Path, hello_image: str, cog_env) -> None:
    import shutil

    project = workdir / "failing_step"
    shutil.copytree(PROJECTS / "failing_step", project)
    result = run_cog(
        "build", "-t", "cogpy-test-failing", "--progress", "quiet", cwd=project, env=cog_env
    )
    assert result.returncode == 1
    assert "Image build failed" in result.stderr
    assert "exit 3" in result.stderr
    assert "disk is on fire" in result.stderr
    assert "Traceback" not in result.stderr


def test_build_secrets_reach_run_commands_but_not_the_image(
    engine: Engine, workdir: Path, hello_image: str, cog_env
) -> None:
    import hashlib
    import shutil

    if engine.name != "podman":
        pytest.skip("build secrets through the Engine API need Podman")
    project = workdir / "secret"
    shutil.copytree(PROJECTS / "secret", project)
    env = dict(cog_env, COG_TEST_TOKEN="very secret value")
    result = run_cog(
        "build", "-t", "cogpy-test-secret", "--secret", "id=token,env=COG_TEST_TOKEN",
        cwd=project, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    container = engine.run_detached(
        "cogpy-test-secret", command=["sh", "-c", "cat /token.sha256; ls -a /src"]
    )
    assert container.wait() == 0
    lines = container.logs().split()
    container.remove()
    assert lines[0] == hashlib.sha256(b"very secret value").hexdigest()
    assert not any("secret" in name for name in lines[1:]), lines


def test_separate_weights_go_into_their_own_image(
    engine: Engine, workdir: Path, hello_project: Path, hello_image: str, cog_env
) -> None:
    import hashlib
    import shutil

    project = workdir / "weighted"
    shutil.copytree(hello_project, project)
    (project / "weights").mkdir()
    blob = os.urandom(11 * 1024 * 1024)
    (project / "weights" / "model.bin").write_bytes(blob)
    result = run_cog(
        "build", "-t", "cogpy-test-weighted", "--separate-weights", cwd=project, env=cog_env
    )
    assert result.returncode == 0, result.stderr
    assert engine.image_id("cogpy-test-weighted-weights") is not None
    container = engine.run_detached(
        "cogpy-test-weighted", command=["sha256sum", "/src/weights/model.bin"]
    )
    assert container.wait() == 0
    output = container.logs()
    container.remove()
    assert output.split()[0] == hashlib.sha256(blob).hexdigest()


def test_exec_runs_a_command_in_the_model_environment_with_stdin(
    hello_project: Path, hello_image: str, cog_env
) -> None:
    result = subprocess.run(
        [COG, "exec", "-e", "WHO=exec", "sh", "-c", 'tr a-z A-Z; echo "$WHO $(pwd)"; exit 5'],
        cwd=hello_project,
        env=cog_env,
        input="piped in\n",
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 5, result.stderr
    assert result.stdout == "PIPED IN\nexec /src\n"


def test_with_only_podman_installed_cog_starts_its_service(
    engine: Engine, hello_image: str, tmp_path: Path, cog_env
) -> None:
    import shutil

    if engine.name != "podman" or shutil.which("podman") is None:
        pytest.skip("needs podman")
    if os.path.exists("/var/run/docker.sock") or os.path.exists("/run/podman/podman.sock"):
        pytest.skip("an engine socket exists on this machine: cog would use it")
    env = {k: v for k, v in cog_env.items() if k not in ("DOCKER_HOST", "XDG_RUNTIME_DIR")}
    result = run_cog(
        "predict", hello_image, "-i", "text=own service", cwd=tmp_path, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello own service\n"
