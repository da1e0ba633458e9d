"""Setup states, health, shutdown and signals, entry-point flags and opt-in settings."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.integration.http.conftest import FIXTURES
from tests.support.server import launch, running_server


def wait_for(predicate, timeout: float = 60.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_starting_then_ready(tmp_path: Path) -> None:
    go = tmp_path / "go"
    server = launch(FIXTURES / "setup_slow", env={"SETUP_GO_FLAG": str(go)})
    try:
        server.wait_listening()
        health = httpx.get(server.url + "/health-check").json()
        assert health["status"] == "STARTING"
        assert health["setup"]["status"] == "starting"
        response = httpx.post(server.url + "/predictions", json={})
        assert response.status_code == 503
        assert response.json() == {
            "error": "Setup has not finished yet. Wait until it has finished, or GET /health-check for status.",
            "status": "failed",
        }
        go.touch()
        server.wait_ready()
        health = httpx.get(server.url + "/health-check").json()
        assert health["status"] == "READY"
        assert "warming up" in health["setup"]["logs"]
        assert httpx.post(server.url + "/predictions", json={}).json()["output"] == "ok"
    finally:
        server.stop()


def test_setup_failure_keeps_serving_health() -> None:
    with running_server(FIXTURES / "setup_fail") as server:
        health = httpx.get(server.url + "/health-check").json()
        assert health["status"] == "SETUP_FAILED"
        assert health["setup"]["status"] == "failed"
        assert "about to fail" in health["setup"]["logs"]
        assert "setup exploded" in health["setup"]["logs"]
        assert httpx.post(server.url + "/predictions", json={}).status_code == 503


def test_user_healthcheck_makes_unhealthy(tmp_path: Path) -> None:
    flag = tmp_path / "unhealthy"
    with running_server(FIXTURES / "health", env={"UNHEALTHY_FLAG": str(flag)}) as server:
        assert httpx.get(server.url + "/health-check").json()["status"] == "READY"
        flag.touch()
        doc = httpx.get(server.url + "/health-check", timeout=30).json()
        assert doc["status"] == "UNHEALTHY"
        assert "the flag file says no" in doc["user_healthcheck_error"]
        flag.unlink()
        assert httpx.get(server.url + "/health-check").json()["status"] == "READY"


def test_post_shutdown_stops_the_server() -> None:
    server = launch(FIXTURES / "basic")
    server.wait_ready()
    response = httpx.post(server.url + "/shutdown")
    assert response.status_code == 200
    assert response.json() == {}
    assert server.proc.wait(30) == 0


def test_sigterm_lets_the_running_prediction_finish() -> None:
    server = launch(FIXTURES / "basic")
    server.wait_ready()
    result: dict = {}

    def run() -> None:
        result["r"] = httpx.post(
            server.url + "/predictions", json={"input": {"text": "last", "sleep": 1.5}}, timeout=60
        )

    thread = threading.Thread(target=run)
    thread.start()
    wait_for(lambda: httpx.get(server.url + "/health-check").json()["status"] == "BUSY")
    server.proc.send_signal(signal.SIGTERM)
    thread.join(60)
    assert result["r"].json()["output"] == "last"
    assert server.proc.wait(30) == 0


def test_await_explicit_shutdown_ignores_sigterm() -> None:
    server = launch(FIXTURES / "basic", args=["--await-explicit-shutdown", "false"])
    try:
        server.wait_ready()
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert server.proc.poll() is None  # "false" is a non-empty string, so it is true
        assert httpx.get(server.url + "/health-check").json()["status"] == "READY"
        httpx.post(server.url + "/shutdown")
        assert server.proc.wait(30) == 0
    finally:
        server.stop(signal.SIGKILL)


def test_missing_ref_exits_1_with_a_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COG_")}
    done = subprocess.run(
        [sys.executable, "-m", "cog.server.http"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "ERROR: COG_PREDICT_TYPE_STUB environment variable is not set" in done.stderr


def test_refs_come_from_cog_yaml(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "train", project)
    with running_server(project, ref=None) as server:
        assert "trainings_url" not in httpx.get(server.url + "/").json()
        assert (
            httpx.post(server.url + "/predictions", json={"input": {"word": "yo"}}).json()["output"]
            == "yo"
        )


def test_train_mode_serves_trainings() -> None:
    with running_server(FIXTURES / "train", ref=None, args=["--x-mode", "train"]) as server:
        assert httpx.get(server.url + "/").json()["trainings_url"] == "/trainings"
        response = httpx.post(
            server.url + "/trainings", json={"input": {"steps": 3, "name": "m"}}, timeout=60
        )
        assert response.status_code == 200, response.text
        assert response.json()["output"] == "m trained for 3 steps"
        mismatch = httpx.put(server.url + "/trainings/a", json={"id": "b"})
        assert mismatch.status_code == 422
        assert (
            mismatch.json()["detail"][0]["msg"]
            == "training ID must match the ID supplied in the URL"
        )
        assert (
            "TrainingInput"
            in httpx.get(server.url + "/openapi.json").json()["components"]["schemas"]
        )


def test_port_in_use_exits_1() -> None:
    with running_server(FIXTURES / "basic") as first:
        second = launch(FIXTURES / "basic", env={"PORT": str(first.port)})
        assert second.proc.wait(60) == 1
        second.stop()
        assert "already in use" in second.output


def test_openapi_schema_file_is_served(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(
        '{"openapi": "3.0.2", "info": {"title": "Cog", "version": "0.1.0"}, "paths": {},'
        ' "components": {"schemas": {"Input": {"type": "object", "properties":'
        ' {"text": {"type": "string", "x-order": 0}, "n": {"type": "integer", "default": 7, "x-order": 1}},'
        ' "required": ["text"]}}}}'
    )
    with running_server(FIXTURES / "basic", env={"COG_OPENAPI_SCHEMA": str(schema)}) as server:
        doc = httpx.get(server.url + "/openapi.json").json()
        assert doc["info"]["title"] == "Cog"
        assert list(doc["components"]["schemas"]) == ["Input"]
        # the file's schema is the one inputs are validated against
        body = httpx.post(server.url + "/predictions", json={"input": {"text": "a"}}).json()
        assert body["input"] == {"text": "a", "n": 7}


def test_queue_instead_of_409() -> None:
    with running_server(FIXTURES / "basic", env={"COG_QUEUE_SIZE": "4"}) as server:
        codes: list[int] = []

        def run(i: int) -> None:
            r = httpx.post(
                server.url + "/predictions",
                json={"input": {"text": str(i), "sleep": 0.3}},
                timeout=60,
            )
            codes.append(r.status_code)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert codes == [200] * 4


def test_predict_timeout() -> None:
    with running_server(FIXTURES / "basic", env={"COG_PREDICT_TIMEOUT": "0.5"}) as server:
        body = httpx.post(
            server.url + "/predictions", json={"input": {"text": "x", "sleep": 30}}, timeout=60
        ).json()
        assert body["status"] == "failed"
        assert "COG_PREDICT_TIMEOUT" in body["error"]
        assert (
            httpx.post(server.url + "/predictions", json={"input": {"text": "y"}}).json()["status"]
            == "succeeded"
        )


def test_kubernetes_readiness_file(tmp_path: Path) -> None:
    ready = tmp_path / "run" / "ready"
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "COG_READY_FILE": str(ready)}
    with running_server(FIXTURES / "basic", env=env):
        wait_for(ready.exists, what="the readiness file")


def test_setup_timeout_fails_setup(tmp_path: Path) -> None:
    env = {"SETUP_GO_FLAG": str(tmp_path / "never"), "COG_SETUP_TIMEOUT": "1"}
    with running_server(FIXTURES / "setup_slow", env=env) as server:
        health = httpx.get(server.url + "/health-check").json()
        assert health["status"] == "SETUP_FAILED"
        assert "warming up" in health["setup"]["logs"]
        assert httpx.post(server.url + "/predictions", json={}).status_code == 503
