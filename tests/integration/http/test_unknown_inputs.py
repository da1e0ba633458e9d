"""Unknown input keys are dropped, never a 422, and the server log names them (spec 3.6)."""

from __future__ import annotations

import time

import httpx

from tests.integration.http.conftest import FIXTURES
from tests.support.server import running_server


def test_unknown_inputs_are_dropped_with_a_warning_in_the_server_log() -> None:
    with running_server(FIXTURES / "asyncpool") as server:
        known = httpx.post(server.url + "/predictions", json={"input": {"tag": "a"}})
        assert known.status_code == 200
        assert "dropped unknown input" not in server.output
        response = httpx.post(
            server.url + "/predictions", json={"input": {"tag": "b", "colour": 1, "size": 2}}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "succeeded" and body["output"] == "b"
        deadline = time.monotonic() + 30
        while "dropped unknown input" not in server.output:
            assert time.monotonic() < deadline, server.output
            time.sleep(0.02)
        line = next(x for x in server.output.splitlines() if "dropped unknown input" in x)
        assert "'colour', 'size'" in line and "'sleep', 'tag'" in line
        assert "WARNING" in line
