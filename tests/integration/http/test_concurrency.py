"""Slots with an async runner (`@cog.concurrent(max=2)`): interleaving, 409, BUSY."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.http.conftest import FIXTURES
from tests.support.server import ServerProcess, running_server


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server(FIXTURES / "asyncpool") as server:
        yield server


def test_two_slots_run_at_once_and_a_third_is_409(server: ServerProcess) -> None:
    results: dict[str, httpx.Response] = {}

    def run(tag: str) -> None:
        results[tag] = httpx.post(
            server.url + "/predictions", json={"input": {"sleep": 1.0, "tag": tag}}, timeout=60
        )

    threads = [threading.Thread(target=run, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    # BUSY means both predictions hold a slot at the same time
    while httpx.get(server.url + "/health-check").json()["status"] != "BUSY":
        assert time.monotonic() < deadline, "both slots never filled"
        time.sleep(0.02)
    third = httpx.post(server.url + "/predictions", json={"input": {"tag": "c"}})
    assert third.status_code == 409
    for t in threads:
        t.join()
    for tag in ("a", "b"):
        body = results[tag].json()
        assert body["output"] == tag
        # logs are routed to their own prediction
        assert f"start {tag}" in body["logs"] and f"end {tag}" in body["logs"]
        other = "b" if tag == "a" else "a"
        assert f"start {other}" not in body["logs"]


def test_max_concurrency_from_the_environment() -> None:
    with running_server(FIXTURES / "asyncpool", env={"COG_MAX_CONCURRENCY": "1"}) as server:
        first = httpx.post(
            server.url + "/predictions",
            json={"input": {"sleep": 2.0}},
            headers={"prefer": "respond-async"},
        )
        assert first.status_code == 202
        time.sleep(0.2)
        assert httpx.post(server.url + "/predictions", json={}).status_code == 409


def test_several_worker_processes_for_a_sync_model() -> None:
    with running_server(FIXTURES / "basic", env={"COG_WORKERS": "2"}) as server:
        for tag in ("w1", "w2"):
            response = httpx.put(
                f"{server.url}/predictions/{tag}",
                json={"input": {"text": tag, "sleep": 3.0}},
                headers={"prefer": "respond-async"},
            )
            assert response.status_code == 202, response.text
        assert httpx.get(server.url + "/health-check").json()["status"] == "BUSY"
        assert (
            httpx.post(server.url + "/predictions", json={"input": {"text": "x"}}).status_code
            == 409
        )
        deadline = time.monotonic() + 30
        while httpx.get(server.url + "/health-check").json()["status"] != "READY":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for tag in ("w1", "w2"):
            assert httpx.get(f"{server.url}/predictions/{tag}").json()["output"] == tag


def test_request_context_reaches_the_model(server: ServerProcess) -> None:
    body = httpx.post(
        server.url + "/predictions",
        json={"input": {"tag": "ctx"}, "context": {"replicate_api_token": "r8_x", "k": "v"}},
        timeout=60,
    ).json()
    assert "context=[('k', 'v'), ('replicate_api_token', 'r8_x')]" in body["logs"]
    bad = httpx.post(server.url + "/predictions", json={"input": {}, "context": {"k": 1}})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][:2] == ["body", "context"]
