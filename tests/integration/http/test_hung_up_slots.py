"""A slot held by a prediction whose client hung up is reclaimed, not answered with 409.

A closed-loop client (one request per connection at a time, as many connections as slots)
whose connections drop mid-prediction and come straight back must find its slots: the
server cancels the orphaned predictions and the new requests wait for their slots.
"""

from __future__ import annotations

import json
import socket
import struct
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


def _send_prediction(port: int, sleep: float) -> socket.socket:
    body = json.dumps({"input": {"sleep": sleep}}).encode()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"POST /predictions HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(body), body)
    )
    return sock


def _wait_for(server: ServerProcess, status: str) -> None:
    deadline = time.monotonic() + 30
    while httpx.get(server.url + "/health-check").json()["status"] != status:
        assert time.monotonic() < deadline, f"the server never became {status}"
        time.sleep(0.02)


def test_clients_that_come_back_find_the_slots_of_their_hung_up_requests(
    server: ServerProcess,
) -> None:
    held = [_send_prediction(server.port, 30.0) for _ in range(2)]
    _wait_for(server, "BUSY")
    for sock in held:  # reset: the server sees the hang-up at once
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    results: list[httpx.Response] = []

    def predict() -> None:
        results.append(httpx.post(server.url + "/predictions", json={}, timeout=60))

    threads = [threading.Thread(target=predict) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
    assert all(r.json()["status"] == "succeeded" for r in results)


def test_busy_slots_of_connected_clients_still_give_409(server: ServerProcess) -> None:
    _wait_for(server, "READY")
    held = [_send_prediction(server.port, 2.0) for _ in range(2)]
    try:
        _wait_for(server, "BUSY")
        response = httpx.post(server.url + "/predictions", json={})
        assert response.status_code == 409
        assert response.json()["error"] == "At capacity - all prediction slots busy"
    finally:
        for sock in held:
            sock.close()
