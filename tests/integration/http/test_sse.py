"""Server-sent events from a real server: events, replay, 406s, disconnect cancels."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.http.conftest import FIXTURES
from tests.support.server import ServerProcess, running_server

SSE = {"accept": "text/event-stream"}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server(FIXTURES / "stream") as server:
        yield server


def read_events(response: httpx.Response) -> list[tuple[str, dict]]:
    events = []
    for block in response.text.split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith(":")]
        if not lines:
            continue
        fields = dict(line.split(": ", 1) for line in lines)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_stream_of_a_prediction(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + "/predictions",
        json={"input": {"n": 2}},
        headers={"accept": "application/json, text/event-stream;q=0.9"},
        timeout=60,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = read_events(response)
    kinds = [e for e, _ in events]
    assert kinds[0] == "start"
    assert events[0][1]["status"] == "processing"
    assert [d for e, d in events if e == "output"] == [
        {"chunk": "chunk 0", "index": 0},
        {"chunk": "chunk 1", "index": 1},
    ]
    assert {"source": "stdout", "data": "log 0\n"} in [d for e, d in events if e == "log"]
    assert {"name": "step", "value": 1, "mode": "replace"} in [
        d for e, d in events if e == "metric"
    ]
    assert kinds[-1] == "completed"
    final = events[-1][1]
    assert final["status"] == "succeeded"
    assert final["output"] == ["chunk 0", "chunk 1"]


def test_stream_of_a_failing_prediction(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + "/predictions", json={"input": {"n": 3, "fail_at": 1}}, headers=SSE, timeout=60
    )
    events = read_events(response)
    assert events[-1][0] == "completed"
    assert events[-1][1]["status"] == "failed"
    assert "stream broke" in events[-1][1]["error"]
    assert [d["chunk"] for e, d in events if e == "output"] == ["chunk 0"]


def test_put_subscribes_to_an_in_flight_prediction_with_replay(server: ServerProcess) -> None:
    created = httpx.put(
        server.url + "/predictions/watch-me",
        json={"input": {"n": 4, "delay": 0.2}},
        headers={"prefer": "respond-async"},
    )
    assert created.status_code == 202
    time.sleep(0.5)
    response = httpx.put(
        server.url + "/predictions/watch-me", json={"input": {"n": 4}}, headers=SSE, timeout=60
    )
    events = read_events(response)
    assert events[0][0] == "start"  # replayed from the buffer
    assert [d["index"] for e, d in events if e == "output"] == [0, 1, 2, 3]
    assert events[-1][1]["status"] == "succeeded"


def test_sse_created_prediction_is_canceled_when_its_client_leaves(server: ServerProcess) -> None:
    with httpx.Client(timeout=60) as client:
        with client.stream(
            "PUT",
            server.url + "/predictions/leaver",
            json={"input": {"n": 100, "delay": 0.2}},
            headers=SSE,
        ) as response:
            for line in response.iter_lines():
                if line.startswith("event: output"):
                    break
    deadline = time.monotonic() + 30
    while True:
        doc = httpx.get(server.url + "/predictions/leaver").json()
        if doc["status"] == "canceled":
            break
        assert time.monotonic() < deadline, doc["status"]
        time.sleep(0.1)


def test_training_rejects_sse() -> None:
    with running_server(FIXTURES / "train", ref=None, args=["--x-mode", "train"]) as server:
        response = httpx.post(server.url + "/trainings", json={}, headers=SSE)
    assert response.status_code == 406
    assert response.json() == {"error": "Training endpoints do not support streaming responses."}


def test_model_without_streaming_is_406(basic: ServerProcess) -> None:
    response = httpx.post(basic.url + "/predictions", json={"input": {"text": "x"}}, headers=SSE)
    assert response.status_code == 406
    assert "@cog.streaming" in response.json()["error"]


def test_replay_truncated_when_history_is_small() -> None:
    with running_server(FIXTURES / "stream", env={"COG_STREAM_HISTORY_CAPACITY": "2"}) as server:
        httpx.put(
            server.url + "/predictions/small",
            json={"input": {"n": 20, "delay": 0.1}},
            headers={"prefer": "respond-async"},
        )
        time.sleep(1.0)
        response = httpx.put(server.url + "/predictions/small", json={}, headers=SSE, timeout=60)
        events = read_events(response)
        assert events[-1][0] == "error"
        assert events[-1][1]["error"] == "SSE stream replay truncated; events were dropped"
        assert events[-1][1]["skipped"] > 0


def test_many_subscribers_get_the_same_events(server: ServerProcess) -> None:
    httpx.put(
        server.url + "/predictions/fanout",
        json={"input": {"n": 5, "delay": 0.1}},
        headers={"prefer": "respond-async"},
    )
    results: list[list[tuple[str, dict]]] = []

    def watch() -> None:
        response = httpx.put(server.url + "/predictions/fanout", json={}, headers=SSE, timeout=60)
        results.append(read_events(response))

    threads = [threading.Thread(target=watch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for events in results:
        assert [d["index"] for e, d in events if e == "output"] == [0, 1, 2, 3, 4]
