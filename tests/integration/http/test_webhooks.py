"""Webhooks to a real receiver: events, filter, throttling, auth, trace headers, retries."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.http.conftest import FIXTURES
from tests.support.receiver import Receiver
from tests.support.server import ServerProcess, free_port, running_server

ASYNC = {"prefer": "respond-async"}
TRACE = {
    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "tracestate": "vendor=opaque",
}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server(FIXTURES / "stream", env={"WEBHOOK_AUTH_TOKEN": "s3cret"}) as server:
        yield server


def create(server: ServerProcess, receiver: Receiver, input: dict, **extra: object) -> str:
    body = {"input": input, "webhook": receiver.url + "/hook", **extra}
    response = httpx.post(
        server.url + "/predictions", json=body, headers={**ASYNC, **TRACE}, timeout=30
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_all_events_with_headers(server: ServerProcess, receiver: Receiver) -> None:
    pid = create(server, receiver, {"n": 3})
    final = receiver.wait_completed(pid)
    assert final["status"] == "succeeded"
    assert final["output"] == ["chunk 0", "chunk 1", "chunk 2"]
    hooks = receiver.webhooks(pid)
    assert hooks[0]["status"] == "processing"  # `start` says processing
    # output events bypass the throttle: one webhook per yielded item
    partial_outputs = [len(h["output"] or []) for h in hooks if h["status"] == "processing"]
    for count in (1, 2, 3):
        assert count in partial_outputs
    request = receiver.requests[0]
    assert request.path == "/hook"
    assert request.headers["authorization"] == "Bearer s3cret"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["traceparent"] == TRACE["traceparent"]
    assert request.headers["tracestate"] == TRACE["tracestate"]
    assert request.headers["user-agent"]


def test_events_filter(server: ServerProcess, receiver: Receiver) -> None:
    pid = create(server, receiver, {"n": 3}, webhook_events_filter=["completed"])
    receiver.wait_completed(pid)
    hooks = receiver.webhooks(pid)
    assert [h["status"] for h in hooks] == ["succeeded"]


def test_logs_are_throttled_and_dropped(server: ServerProcess, receiver: Receiver) -> None:
    # 10 log lines 50 ms apart in 0.5 s windows: far fewer than 10 log webhooks
    pid = create(
        server, receiver, {"n": 10, "delay": 0.05}, webhook_events_filter=["logs", "completed"]
    )
    final = receiver.wait_completed(pid)
    assert final["logs"].count("log ") == 10
    log_hooks = [h for h in receiver.webhooks(pid) if h["status"] == "processing"]
    assert 1 <= len(log_hooks) <= 4


def test_terminal_webhook_is_retried(server: ServerProcess, receiver: Receiver) -> None:
    receiver.fail_next(500, 429, 503)
    pid = create(server, receiver, {"n": 1}, webhook_events_filter=["completed"])
    # the three failed attempts and the fourth that succeeds, all terminal payloads
    posts = receiver.wait_for(lambda reqs: len(reqs) >= 4)
    assert [r.json()["status"] for r in posts] == ["succeeded"] * 4
    assert {r.json()["id"] for r in posts} == {pid}
    time.sleep(0.5)
    assert len(receiver.requests) == 4
    assert httpx.get(server.url + "/health-check").json()["status"] == "READY"


def test_non_retryable_status_is_not_retried(server: ServerProcess, receiver: Receiver) -> None:
    receiver.fail_next(400)
    pid = create(server, receiver, {"n": 1}, webhook_events_filter=["completed"])
    receiver.wait_for(lambda reqs: len(reqs) >= 1)
    second = create(server, receiver, {"n": 1}, webhook_events_filter=["completed"])
    receiver.wait_completed(second)
    assert len([r for r in receiver.requests if r.json()["id"] == pid]) == 1


def test_unreachable_webhook_never_affects_predictions(server: ServerProcess) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"
    response = httpx.post(
        server.url + "/predictions", json={"input": {"n": 2}, "webhook": dead}, timeout=30
    )
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"
    assert httpx.get(server.url + "/health-check").json()["status"] == "READY"
    again = httpx.post(server.url + "/predictions", json={"input": {"n": 1}}, timeout=30)
    assert again.json()["output"] == ["chunk 0"]
