"""Acceptance items the other suites leave out: terminal webhooks retried across connection
errors, and the /trainings equivalents of PUT, cancel and webhooks in train mode."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.integration.http.conftest import FIXTURES, JSON
from tests.support.receiver import Receiver
from tests.support.server import ServerProcess, free_port, running_server

ASYNC = {**JSON, "prefer": "respond-async"}


class LateListener:
    """A webhook receiver that opens its (fixed) port only when asked to."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.bodies: list[dict[str, Any]] = []
        self._got = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                listener.bodies.append(json.loads(body))
                listener._got.set()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

        self._handler = Handler
        self._server: ThreadingHTTPServer | None = None

    def open(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def wait(self, timeout: float) -> bool:
        return self._got.wait(timeout)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def test_terminal_webhook_is_retried_after_connection_errors(basic: ServerProcess) -> None:
    port = free_port()  # nothing listens here until the listener opens
    listener = LateListener(port)
    try:
        body = {
            "input": {"text": "x"},
            "webhook": f"http://127.0.0.1:{port}/hook",
            "webhook_events_filter": ["completed"],
        }
        response = httpx.put(basic.url + "/predictions/late-hook", json=body, headers=ASYNC)
        assert response.status_code == 202
        # the prediction finishes while the receiver is down; its health is unaffected
        deadline = time.monotonic() + 30
        while httpx.get(basic.url + "/predictions/late-hook").json()["status"] != "succeeded":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert httpx.get(basic.url + "/health-check").json()["status"] == "READY"
        time.sleep(0.5)  # a few connection attempts fail first
        listener.open()
        assert listener.wait(60), "the terminal webhook was not retried after connection errors"
        assert listener.bodies[0]["id"] == "late-hook"
        assert listener.bodies[0]["status"] == "succeeded"
        assert listener.bodies[0]["output"] == "x"
    finally:
        listener.close()


@pytest.fixture(scope="module")
def trainer() -> Iterator[ServerProcess]:
    with running_server(
        FIXTURES / "audit" / "train", ref=None, args=["--x-mode", "train"]
    ) as server:
        yield server


def test_training_put_is_idempotent_and_cancel_lands(
    trainer: ServerProcess, receiver: Receiver
) -> None:
    body = {"input": {"steps": 3, "sleep": 30}, "webhook": receiver.url + "/hook"}
    with trainer.client() as client:
        first = client.put("/trainings/t-1", json=body, headers=ASYNC)
        assert first.status_code == 202, first.text
        again = client.put("/trainings/t-1", json=body, headers=ASYNC)
        assert again.status_code == 202
        assert again.json()["id"] == "t-1"
        assert client.post("/trainings/t-1/cancel").status_code == 200
        final = receiver.wait_completed("t-1")
        assert final["status"] == "canceled"
        assert client.post("/trainings/t-1/cancel").status_code == 404
        # the second PUT joined the first: one training ran
        assert final["logs"].count("training for 3 steps") == 1
        assert {w["input"]["steps"] for w in receiver.webhooks("t-1")} == {3}
        done = client.post("/trainings", json={"input": {"steps": 2}})
        assert done.json()["output"] == "trained for 2 steps"
        assert "training for 2 steps" in done.json()["logs"]


def test_training_validation_and_busy(trainer: ServerProcess) -> None:
    with trainer.client() as client:
        bad = client.post("/trainings", json={"input": {"steps": 0}})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["body", "input", "steps"]
        hog = client.put("/trainings/hog", json={"input": {"sleep": 30}}, headers=ASYNC)
        assert hog.status_code == 202
        deadline = time.monotonic() + 30
        while client.get("/health-check").json()["status"] != "BUSY":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert client.post("/trainings", json={"input": {}}).status_code == 409
        assert client.post("/trainings/hog/cancel").status_code == 200
        deadline = time.monotonic() + 30
        while client.get("/health-check").json()["status"] != "READY":
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_fd_level_output_under_concurrency() -> None:
    """Alone, a prediction's logs hold its subprocess and C output too. Concurrent ones
    share the fds, so that output goes to the server log only; each prediction's Python
    prints stay its own and never show in another's logs."""
    with running_server(
        FIXTURES / "audit" / "fdlogs", ref=None, env={"COG_MAX_CONCURRENCY": "4"}
    ) as server:
        setup_logs = httpx.get(server.url + "/health-check").json()["setup"]["logs"]
        assert "setup from a shell" in setup_logs
        solo = httpx.post(server.url + "/predictions", json={"input": {"name": "solo"}}).json()
        for i in range(3):
            for kind in ("python", "child", "native"):
                assert f"solo {kind} {i}\n" in solo["logs"], solo["logs"]
        results: dict[str, dict[str, Any]] = {}

        def run(name: str) -> None:
            results[name] = httpx.post(
                server.url + "/predictions", json={"input": {"name": name}}, timeout=60
            ).json()

        threads = [threading.Thread(target=run, args=(n,)) for n in "abcd"]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for name, result in results.items():
            assert result["status"] == "succeeded"
            lines = result["logs"].splitlines()
            assert [ln for ln in lines if "python" in ln] == [
                f"{name} python {i}" for i in range(3)
            ]
            assert all(ln.startswith(f"{name} ") for ln in lines), result["logs"]
        server.stop()
        for name in "abcd":
            assert f"{name} native 2" in server.output
            assert f"{name} child 2" in server.output
