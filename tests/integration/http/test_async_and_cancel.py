"""Async creation, idempotent PUT, cancel, capacity and disconnects against a real server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.http.conftest import FIXTURES
from tests.support.receiver import Receiver
from tests.support.server import ServerProcess, running_server

ASYNC = {"prefer": "respond-async"}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server(FIXTURES / "basic", env={"COG_THROTTLE_RESPONSE_INTERVAL": "0"}) as server:
        yield server


def wait_status(server: ServerProcess, prediction_id: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(f"{server.url}/predictions/{prediction_id}")
        if response.status_code == 200 and response.json()["status"] in (
            "succeeded",
            "failed",
            "canceled",
        ):
            return response.json()
        time.sleep(0.05)
    raise AssertionError(f"{prediction_id} did not finish")


def wait_free(server: ServerProcess, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while httpx.get(server.url + "/health-check").json()["status"] != "READY":
        assert time.monotonic() < deadline, "server stayed busy"
        time.sleep(0.05)


def test_respond_async_is_202_then_webhook(server: ServerProcess, receiver: Receiver) -> None:
    response = httpx.post(
        server.url + "/predictions",
        json={"input": {"text": "a", "sleep": 0.5}, "webhook": receiver.url + "/hook"},
        headers=ASYNC,
    )
    assert response.status_code == 202
    body = response.json()
    # answered before the prediction ran: a response sent after it would say succeeded
    assert body["status"] == "starting"
    assert body["output"] is None
    final = receiver.wait_completed(body["id"])
    assert final["status"] == "succeeded"
    assert final["output"] == "a"
    wait_free(server)


def test_prefer_is_an_exact_match(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + "/predictions",
        json={"input": {"text": "s"}},
        headers={"prefer": "respond-async, wait=5"},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"


def test_cancel_async_prediction(server: ServerProcess, receiver: Receiver) -> None:
    body = httpx.post(
        server.url + "/predictions",
        json={"id": "to-cancel", "input": {"text": "c", "sleep": 30}, "webhook": receiver.url},
        headers=ASYNC,
    ).json()
    receiver.wait_for(lambda reqs: any(r.json()["status"] == "processing" for r in reqs))
    assert httpx.post(server.url + "/predictions/to-cancel/cancel").json() == {}
    assert httpx.post(server.url + "/predictions/to-cancel/cancel").status_code in (200, 404)
    final = receiver.wait_completed(body["id"])
    assert final["status"] == "canceled"
    assert "predict_time" in final["metrics"]
    assert httpx.post(server.url + "/predictions/to-cancel/cancel").status_code == 404
    wait_free(server)
    # the cancel does not leak into the next prediction
    after = httpx.post(server.url + "/predictions", json={"input": {"text": "next"}}, timeout=30)
    assert after.json()["status"] == "succeeded"


def test_cancel_unknown_is_404(server: ServerProcess) -> None:
    response = httpx.post(server.url + "/predictions/nobody/cancel")
    assert response.status_code == 404
    assert response.json() == {}


def test_cancel_sync_prediction_with_an_id(server: ServerProcess) -> None:
    result: dict = {}

    def run() -> None:
        result["response"] = httpx.put(
            server.url + "/predictions/sync-cancel",
            json={"input": {"text": "x", "sleep": 30}},
            timeout=60,
        )

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30
    while httpx.post(server.url + "/predictions/sync-cancel/cancel").status_code == 404:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    thread.join(60)
    assert result["response"].status_code == 200
    assert result["response"].json()["status"] == "canceled"
    wait_free(server)


def test_busy_is_409_and_health_busy(server: ServerProcess) -> None:
    first = httpx.post(
        server.url + "/predictions",
        json={"id": "hog", "input": {"text": "x", "sleep": 30}},
        headers=ASYNC,
    )
    assert first.status_code == 202
    response = httpx.post(server.url + "/predictions", json={"input": {"text": "y"}})
    assert response.status_code == 409
    assert response.json() == {
        "error": "At capacity - all prediction slots busy",
        "status": "failed",
    }
    assert httpx.get(server.url + "/health-check").json()["status"] == "BUSY"
    httpx.post(server.url + "/predictions/hog/cancel")
    wait_status(server, "hog")
    wait_free(server)


def test_put_is_idempotent_while_in_flight(server: ServerProcess, receiver: Receiver) -> None:
    body = {"input": {"text": "once", "sleep": 1.0}, "webhook": receiver.url}
    first = httpx.put(server.url + "/predictions/idem-1", json=body, headers=ASYNC)
    assert first.status_code == 202
    # a second PUT, even a sync one, reports the running prediction and starts nothing
    again = httpx.put(server.url + "/predictions/idem-1", json=body, timeout=30)
    assert again.status_code == 202
    assert again.json()["id"] == "idem-1"
    assert again.json()["status"] in ("starting", "processing")
    receiver.wait_completed("idem-1")
    completed = [w for w in receiver.webhooks("idem-1") if w["status"] == "succeeded"]
    assert len(completed) == 1
    assert completed[0]["logs"].count("got once") == 1
    wait_free(server)
    # a finished id is forgotten by PUT: it runs again
    rerun = httpx.put(
        server.url + "/predictions/idem-1", json={"input": {"text": "two"}}, timeout=30
    )
    assert rerun.status_code == 200
    assert rerun.json()["output"] == "two"


def test_concurrent_identical_puts_start_one_prediction(
    server: ServerProcess, receiver: Receiver
) -> None:
    body = {"input": {"text": "race", "sleep": 0.5}, "webhook": receiver.url}
    codes: list[int] = []

    def put() -> None:
        response = httpx.put(server.url + "/predictions/race-1", json=body, headers=ASYNC)
        codes.append(response.status_code)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [202] * 8
    receiver.wait_completed("race-1")
    time.sleep(0.3)
    assert len([w for w in receiver.webhooks("race-1") if w["status"] == "succeeded"]) == 1
    wait_free(server)


def test_put_with_a_different_body_id_is_422(server: ServerProcess) -> None:
    response = httpx.put(
        server.url + "/predictions/abc", json={"id": "xyz", "input": {"text": "x"}}
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "id"],
                "msg": "prediction ID must match the ID supplied in the URL",
                "type": "value_error",
            }
        ]
    }


def test_sync_client_disconnect_cancels(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        payload = b'{"id": "walks-away", "input": {"text": "x", "sleep": 30}}'
        sock.sendall(
            b"POST /predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        deadline = time.monotonic() + 30
        while httpx.get(server.url + "/predictions/walks-away").status_code == 404:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    final = wait_status(server, "walks-away")
    assert final["status"] == "canceled"
    wait_free(server)


def test_worker_crash_fails_the_prediction_and_recovers(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + "/predictions", json={"input": {"text": "x", "crash": True}}, timeout=60
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed"
    assert body["error"]
    deadline = time.monotonic() + 60
    while httpx.get(server.url + "/health-check").json()["status"] != "READY":
        assert time.monotonic() < deadline, "the worker was not restarted"
        time.sleep(0.1)
    after = httpx.post(server.url + "/predictions", json={"input": {"text": "alive"}}, timeout=60)
    assert after.json()["output"] == "alive"
