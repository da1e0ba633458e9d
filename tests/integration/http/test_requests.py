"""Sync predictions, envelopes, validation and malformed requests against a real server."""

from __future__ import annotations

import socket

import httpx

from tests.integration.http.conftest import JSON
from tests.support.server import ServerProcess

ENVELOPE_KEYS = {
    "id",
    "input",
    "output",
    "logs",
    "error",
    "status",
    "created_at",
    "started_at",
    "completed_at",
    "metrics",
}


def post(server: ServerProcess, body: object = None, **kwargs: object) -> httpx.Response:
    with server.client() as client:
        return client.post("/predictions", json=body, **kwargs)  # type: ignore[arg-type]


def test_index_lists_the_endpoints(basic: ServerProcess) -> None:
    doc = httpx.get(basic.url + "/").json()
    assert doc["predictions_url"] == "/predictions"
    assert doc["predictions_idempotent_url"] == "/predictions/{prediction_id}"
    assert doc["predictions_cancel_url"] == "/predictions/{prediction_id}/cancel"
    assert doc["healthcheck_url"] == "/health-check"
    assert doc["openapi_url"] == "/openapi.json"
    assert doc["shutdown_url"] == "/shutdown"
    assert "trainings_url" not in doc


def test_health_is_ready_with_setup_logs_and_versions(basic: ServerProcess) -> None:
    response = httpx.get(basic.url + "/health-check")
    assert response.status_code == 200
    doc = response.json()
    assert doc["status"] == "READY"
    assert doc["setup"]["status"] == "succeeded"
    assert "setup says hello" in doc["setup"]["logs"]
    assert doc["setup"]["started_at"] <= doc["setup"]["completed_at"]
    assert doc["version"]["python_sdk"]
    assert doc["version"]["python"].count(".") == 2


def test_openapi_is_the_schema_the_worker_generated(basic: ServerProcess) -> None:
    doc = httpx.get(basic.url + "/openapi.json").json()
    assert doc["openapi"].startswith("3.0")
    assert set(doc["components"]["schemas"]["Input"]["properties"]) >= {"text", "n", "sleep"}


def test_sync_success_envelope(basic: ServerProcess) -> None:
    response = post(basic, {"input": {"text": "ab", "n": 3}})
    assert response.status_code == 200
    body = response.json()
    assert ENVELOPE_KEYS <= set(body)
    assert body["status"] == "succeeded"
    assert body["output"] == "ababab"
    assert body["error"] is None
    assert body["id"].startswith("pred_")
    assert body["input"] == {
        "text": "ab",
        "n": 3,
        "sleep": 0.0,
        "fail": False,
        "exit": False,
        "crash": False,
    }
    assert "got ab\n" in body["logs"]
    assert "to stderr\n" in body["logs"]
    assert isinstance(body["metrics"]["predict_time"], float)
    assert body["created_at"] <= body["started_at"] <= body["completed_at"]


def test_client_id_is_kept(basic: ServerProcess) -> None:
    body = post(basic, {"id": "my-id-1", "input": {"text": "x"}}).json()
    assert body["id"] == "my-id-1"


def test_prediction_error_is_200_failed_with_logs(basic: ServerProcess) -> None:
    response = post(basic, {"input": {"text": "x", "fail": True}})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed"
    assert "this is a value error" in body["error"]
    assert "got x" in body["logs"]
    assert "Traceback" in body["logs"]
    assert "predict_time" in body["metrics"]


def test_sys_exit_fails_only_that_prediction(basic: ServerProcess) -> None:
    body = post(basic, {"input": {"text": "x", "exit": True}}).json()
    assert body["status"] == "failed"
    assert "SystemExit" in body["error"] or "3" in body["error"]
    assert post(basic, {"input": {"text": "ok"}}).json()["status"] == "succeeded"


def test_validation_errors_are_422_in_cogs_shape(basic: ServerProcess) -> None:
    response = post(basic, {"input": {"n": -1}})
    assert response.status_code == 422
    detail = response.json()["detail"]
    by_field = {d["loc"][2]: d for d in detail}
    assert by_field["text"]["msg"] == "Field required"
    assert by_field["text"]["loc"] == ["body", "input", "text"]
    assert "n" in by_field


def test_wrong_type_is_422(basic: ServerProcess) -> None:
    response = post(basic, {"input": {"text": "x", "n": "many"}})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "input", "n"]


def test_input_that_is_not_an_object_is_422(basic: ServerProcess) -> None:
    response = post(basic, {"input": 5})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "input", "__root__"]


def test_unknown_input_keys_are_dropped(basic: ServerProcess) -> None:
    body = post(basic, {"input": {"text": "x", "bogus": 1}}).json()
    assert body["status"] == "succeeded"
    assert "bogus" not in body["input"]


def test_missing_body_and_null_input_mean_empty_input(basic: ServerProcess) -> None:
    # `text` is required, so an empty input is a 422 naming it, not a parse error
    with basic.client() as client:
        for response in (
            client.post("/predictions"),
            client.post("/predictions", json={"input": None}),
            client.post("/predictions", json={}),
        ):
            assert response.status_code == 422, response.text
            assert response.json()["detail"][0]["loc"] == ["body", "input", "text"]


def test_malformed_json_is_400(basic: ServerProcess) -> None:
    with basic.client() as client:
        response = client.post("/predictions", content=b'{"input": {', headers=JSON)
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_envelope_field_of_wrong_type_is_422(basic: ServerProcess) -> None:
    with basic.client() as client:
        response = client.post("/predictions", content=b'{"id": 5}', headers=JSON)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "id"]
        response = client.post("/predictions", content=b"[1]", headers=JSON)
        assert response.status_code == 422


def test_unsupported_content_type_is_415(basic: ServerProcess) -> None:
    with basic.client() as client:
        response = client.post(
            "/predictions", content=b"text=x", headers={"content-type": "text/plain"}
        )
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


def test_body_over_the_limit_is_413_without_reading_it(basic: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", basic.port), timeout=30) as sock:
        sock.sendall(
            b"POST /predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 314572800\r\n\r\n{"
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer


def test_client_that_disconnects_mid_body_leaves_the_server_fine(basic: ServerProcess) -> None:
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", basic.port), timeout=30) as sock:
            sock.sendall(
                b"POST /predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 1000\r\n\r\n{"input": {"te'
            )
    assert httpx.get(basic.url + "/health-check").json()["status"] == "READY"
    assert post(basic, {"input": {"text": "after"}}).json()["output"] == "after"


def test_webhook_must_be_a_url_and_events_known(basic: ServerProcess) -> None:
    response = post(basic, {"input": {"text": "x"}, "webhook": "nope"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "webhook"]
    response = post(
        basic,
        {"input": {"text": "x"}, "webhook": "http://127.0.0.1:9/", "webhook_events_filter": ["x"]},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "webhook_events_filter", 0]


def test_get_prediction_returns_a_recent_one(basic: ServerProcess) -> None:
    post(basic, {"id": "remember-me", "input": {"text": "r"}})
    response = httpx.get(basic.url + "/predictions/remember-me")
    assert response.status_code == 200
    assert response.json()["output"] == "r"
    assert httpx.get(basic.url + "/predictions/never-was").status_code == 404


def test_unknown_routes_and_methods(basic: ServerProcess) -> None:
    assert httpx.get(basic.url + "/nope").status_code == 404
    assert httpx.get(basic.url + "/predictions").status_code == 405
    assert httpx.delete(basic.url + "/predictions/x").status_code == 405
    assert httpx.post(basic.url + "/trainings", json={}).status_code == 404


def test_sequential_clients_never_see_409(basic: ServerProcess) -> None:
    with basic.client() as client:
        for i in range(50):
            response = client.post("/predictions", json={"input": {"text": str(i)}})
            assert response.status_code == 200, response.text


def test_chunked_request_body(basic: ServerProcess) -> None:
    def body():  # type: ignore[no-untyped-def]
        yield b'{"input": '
        yield b'{"text": "chunked"}}'

    with basic.client() as client:
        response = client.post("/predictions", content=body(), headers=JSON)
    assert response.status_code == 200, response.text
    assert response.json()["output"] == "chunked"


def test_chunked_body_over_the_limit_is_refused(basic: ServerProcess) -> None:
    block = b" " * (1024 * 1024)

    def body():  # type: ignore[no-untyped-def]
        for _ in range(257):
            yield block

    with basic.client() as client:
        try:
            response = client.post("/predictions", content=body(), headers=JSON)
        except httpx.TransportError:
            pass  # the server may close the connection before the client finishes sending
        else:
            assert response.status_code == 413
    assert httpx.get(basic.url + "/health-check").json()["status"] == "READY"
