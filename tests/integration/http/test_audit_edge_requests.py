"""Awkward requests and values against a real server: spec §8's checklist and what lies past it.

Each test states what a client should see. Where the server is known to get it wrong, the
test is a strict xfail naming the bug, so the fix flips it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.http.conftest import FIXTURES, JSON
from tests.support.server import ServerProcess, running_server

AUDIT = FIXTURES / "audit"


@pytest.fixture(scope="module")
def tricky() -> Iterator[ServerProcess]:
    with running_server(AUDIT / "tricky") as server:
        yield server


@pytest.fixture(scope="module")
def iterate() -> Iterator[ServerProcess]:
    with running_server(AUDIT / "iterate") as server:
        yield server


def predict(server: ServerProcess, body: Any, **kwargs: Any) -> httpx.Response:
    with server.client() as client:
        return client.post("/predictions", json=body, **kwargs)


def seen(response: httpx.Response) -> dict[str, Any]:
    """What the model saw: each input's Python type name and value."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "succeeded", body
    return json.loads(body["output"])  # type: ignore[no-any-return]


def wait_ready(server: ServerProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while httpx.get(server.url + "/health-check").json()["status"] != "READY":
        assert time.monotonic() < deadline, "the server did not come back to READY"
        time.sleep(0.1)


# --- inputs (spec §8.1-8.3, 8.5, 8.14, 8.21) ---------------------------------------------


def test_optional_without_default_arrives_as_none(tricky: ServerProcess) -> None:
    assert seen(predict(tricky, {"input": {"text": "x"}}))["maybe"] == ["NoneType", None]


def test_explicit_null_for_nullable_inputs_is_accepted(tricky: ServerProcess) -> None:
    got = seen(predict(tricky, {"input": {"text": "x", "maybe": None, "seed": None}}))
    assert got["maybe"] == ["NoneType", None]
    assert got["seed"] == ["NoneType", None]


def test_int_defaulting_to_none_is_optional(tricky: ServerProcess) -> None:
    assert seen(predict(tricky, {"input": {"text": "x"}}))["seed"] == ["NoneType", None]
    assert seen(predict(tricky, {"input": {"text": "x", "seed": 7}}))["seed"] == ["int", 7]


def test_explicit_null_for_a_non_nullable_input_is_422(tricky: ServerProcess) -> None:
    for field in ("count", "flag", "mode", "text"):
        response = predict(tricky, {"input": {"text": "x", field: None}})
        assert response.status_code == 422, (field, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", "input", field]


def test_url_strings_for_str_inputs_stay_strings(tricky: ServerProcess) -> None:
    url = "https://example.invalid/a.png"
    assert seen(predict(tricky, {"input": {"text": url}}))["text"] == ["str", url]


@pytest.mark.parametrize(
    ("field", "value"),
    [("count", True), ("flag", 1), ("flag", "true"), ("ratio", True), ("count", "3")],
)
def test_bool_and_numbers_do_not_mix(tricky: ServerProcess, field: str, value: Any) -> None:
    response = predict(tricky, {"input": {"text": "x", field: value}})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "input", field]
    assert field in detail[0]["msg"]


def test_int_for_a_float_input_reaches_the_model_as_float(tricky: ServerProcess) -> None:
    assert seen(predict(tricky, {"input": {"text": "x", "ratio": 2}}))["ratio"] == ["float", 2.0]


def test_integral_float_for_an_int_input_reaches_the_model_as_int(tricky: ServerProcess) -> None:
    assert seen(predict(tricky, {"input": {"text": "x", "count": 2.0}}))["count"] == ["int", 2]
    response = predict(tricky, {"input": {"text": "x", "count": 2.5}})
    assert response.status_code == 422


def test_list_of_paths_with_one_item_stays_a_list(tricky: ServerProcess) -> None:
    body = {"input": {"text": "x", "paths": ["data:text/plain;base64,aGk="]}}
    assert seen(predict(tricky, body))["paths"] == ["list", 1]


def test_a_single_string_for_a_list_input_is_422(tricky: ServerProcess) -> None:
    body = {"input": {"text": "x", "paths": "data:text/plain;base64,aGk="}}
    response = predict(tricky, body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "input", "paths"]


def test_duplicate_keys_keep_the_last_value(tricky: ServerProcess) -> None:
    raw = b'{"input": {"text": "first", "text": "last"}}'
    response = httpx.post(tricky.url + "/predictions", content=raw, headers=JSON, timeout=60)
    assert seen(response)["text"] == ["str", "last"]


def test_unicode_and_nul_characters_survive_the_round_trip(tricky: ServerProcess) -> None:
    for text in ("h\u00e9llo \U0001f600", "a\x00b"):
        assert seen(predict(tricky, {"input": {"text": text}}))["text"] == ["str", text]


def test_sixty_four_bit_integers_at_both_ends_pass(tricky: ServerProcess) -> None:
    for value in (-(2**63), 2**64 - 1):
        assert seen(predict(tricky, {"input": {"text": "x", "count": value}}))["count"] == [
            "int",
            value,
        ]


def test_an_integer_too_large_for_64_bits_leaves_the_server_usable() -> None:
    with running_server(AUDIT / "tricky") as server:
        response = predict(server, {"input": {"text": "x", "count": 2**70}})
        # a clear 422 or a prediction that runs are both fine; a stuck slot is not
        assert response.status_code in (200, 422), response.text
        with server.client(timeout=10) as client:
            deadline = time.monotonic() + 10
            while client.get("/health-check").json()["status"] != "READY":
                assert time.monotonic() < deadline, "the slot stayed busy"
                time.sleep(0.1)
            assert client.post("/predictions", json={"input": {"text": "x"}}).status_code == 200


# --- request bodies and headers ------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"],
)
def test_json_content_type_variants_are_json(tricky: ServerProcess, content_type: str) -> None:
    response = httpx.post(
        tricky.url + "/predictions",
        content=b'{"input": {"text": "x"}}',
        headers={"content-type": content_type},
        timeout=60,
    )
    assert seen(response)["text"] == ["str", "x"]


@pytest.mark.parametrize("raw", [b"null", b"[1, 2]", b'"s"', b"5"])
def test_a_body_that_is_not_an_object_is_422(tricky: ServerProcess, raw: bytes) -> None:
    response = httpx.post(tricky.url + "/predictions", content=raw, headers=JSON, timeout=60)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize(
    "raw", [b'{"input": {"text": "x"}} trailing', b'\xef\xbb\xbf{"input": {}}', b"{'input': {}}"]
)
def test_json_that_does_not_parse_is_400(tricky: ServerProcess, raw: bytes) -> None:
    response = httpx.post(tricky.url + "/predictions", content=raw, headers=JSON, timeout=60)
    assert response.status_code == 400, response.text
    assert "JSON" in response.json()["detail"]


def test_a_body_that_is_not_utf8_is_400(tricky: ServerProcess) -> None:
    raw = b'{"input": {"text": "\xff"}}'
    response = httpx.post(tricky.url + "/predictions", content=raw, headers=JSON, timeout=60)
    assert response.status_code == 400, response.text
    assert "UTF-8" in response.json()["detail"] or "utf-8" in response.json()["detail"]


def test_a_body_that_is_not_utf8_leaves_the_server_fine(tricky: ServerProcess) -> None:
    raw = b'{"input": {"text": "\xff"}}'
    httpx.post(tricky.url + "/predictions", content=raw, headers=JSON, timeout=60)
    assert seen(predict(tricky, {"input": {"text": "x"}}))["text"] == ["str", "x"]


@pytest.mark.parametrize("key", ["zz", "paths"])
def test_deeply_nested_json_is_a_clear_4xx(tricky: ServerProcess, key: str) -> None:
    depth = 1000
    raw = b'{"input": {"text": "x", "%s": %s%s}}' % (key.encode(), b"[" * depth, b"]" * depth)
    response = httpx.post(tricky.url + "/predictions", content=raw, headers=JSON, timeout=60)
    assert response.status_code in (400, 422), response.text


def test_deeply_nested_json_leaves_the_server_fine(tricky: ServerProcess) -> None:
    raw = b'{"input": {"text": "x", "zz": %s%s}}' % (b"[" * 1000, b"]" * 1000)
    httpx.post(tricky.url + "/predictions", content=raw, headers=JSON, timeout=60)
    assert seen(predict(tricky, {"input": {"text": "x"}}))["text"] == ["str", "x"]


@pytest.mark.parametrize(
    "prefer", ["RESPOND-ASYNC", "respond-async, wait=5", "wait=5", "respond-async; foo"]
)
def test_prefer_other_than_exactly_respond_async_is_sync(
    tricky: ServerProcess, prefer: str
) -> None:
    response = predict(tricky, {"input": {"text": "x"}}, headers={"prefer": prefer})
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"


@pytest.mark.parametrize(
    "accept", ["text/event-stream", "application/json;q=0.9, text/event-stream"]
)
def test_event_stream_without_streaming_is_406(tricky: ServerProcess, accept: str) -> None:
    response = predict(tricky, {"input": {"text": "x"}}, headers={"accept": accept})
    assert response.status_code == 406
    assert "@cog.streaming" in response.json()["error"]


@pytest.mark.parametrize("accept", ["application/json", "application/xml", "*/*", "text/*"])
def test_other_accept_headers_get_json(tricky: ServerProcess, accept: str) -> None:
    response = predict(tricky, {"input": {"text": "x"}}, headers={"accept": accept})
    assert seen(response)["text"] == ["str", "x"]


def test_a_large_header_is_accepted(tricky: ServerProcess) -> None:
    response = predict(tricky, {"input": {"text": "x"}}, headers={"x-big": "A" * 6000})
    assert seen(response)["text"] == ["str", "x"]


def test_envelope_fields_the_server_owns_are_ignored(tricky: ServerProcess) -> None:
    body = {
        "input": {"text": "x"},
        "created_at": "2020-01-01T00:00:00Z",
        "status": "failed",
        "output": "forged",
        "foo": 1,
    }
    response = predict(tricky, body)
    assert seen(response)["text"] == ["str", "x"]
    assert response.json()["created_at"] != "2020-01-01T00:00:00Z"


@pytest.mark.parametrize("path", ["/", "/health-check", "/openapi.json"])
def test_head_is_answered_like_get(tricky: ServerProcess, path: str) -> None:
    response = httpx.head(tricky.url + path, timeout=10)
    assert response.status_code == 200
    assert response.content == b""


# --- ids, PUT and cancel (spec §8.10, 8.11) --------------------------------------------------


def test_put_with_the_same_id_in_the_body_runs(tricky: ServerProcess) -> None:
    with tricky.client() as client:
        response = client.put("/predictions/same-1", json={"id": "same-1", "input": {"text": "x"}})
    assert response.status_code == 200
    assert response.json()["id"] == "same-1"


def test_put_of_a_finished_id_runs_again(tricky: ServerProcess) -> None:
    with tricky.client() as client:
        first = client.put("/predictions/again-1", json={"input": {"text": "one"}})
        second = client.put("/predictions/again-1", json={"input": {"text": "two"}})
    assert json.loads(first.json()["output"])["text"] == ["str", "one"]
    assert json.loads(second.json()["output"])["text"] == ["str", "two"]


def test_put_id_with_escaped_characters(tricky: ServerProcess) -> None:
    with tricky.client() as client:
        response = client.put("/predictions/a%20b", json={"input": {"text": "x"}})
        assert response.status_code == 200
        assert response.json()["id"] == "a b"


def test_an_id_that_is_not_utf8_is_400(tricky: ServerProcess) -> None:
    with tricky.client() as client:
        response = client.put("/predictions/%FF", json={"input": {"text": "x"}})
    assert response.status_code == 400, response.text


def test_cancel_of_a_finished_id_is_404(tricky: ServerProcess) -> None:
    with tricky.client() as client:
        client.put("/predictions/done-1", json={"input": {"text": "x"}})
        assert client.post("/predictions/done-1/cancel").status_code == 404
        assert client.post("/predictions/never/cancel").status_code == 404


def test_cancel_twice_is_200_both_times_and_the_next_prediction_is_clean(
    tricky: ServerProcess,
) -> None:
    with tricky.client() as client:
        started = client.put(
            "/predictions/twice-1",
            json={"input": {"text": "x", "sleep": 30}},
            headers={"prefer": "respond-async"},
        )
        assert started.status_code == 202
        assert client.post("/predictions/twice-1/cancel").status_code == 200
        second = client.post("/predictions/twice-1/cancel")
        assert second.status_code in (200, 404)
        wait_ready(tricky)
        assert seen(client.post("/predictions", json={"input": {"text": "after"}}))["text"] == [
            "str",
            "after",
        ]


# --- iterator outputs (spec §8.14) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"), [(0, []), (1, ["item 0"]), (3, ["item 0", "item 1", "item 2"])]
)
def test_iterator_output_is_the_list_of_yields(
    iterate: ServerProcess, n: int, expected: list[str]
) -> None:
    response = predict(iterate, {"input": {"n": n}})
    assert response.json()["status"] == "succeeded"
    assert response.json()["output"] == expected


def test_an_exception_mid_iteration_fails_the_prediction(iterate: ServerProcess) -> None:
    body = predict(iterate, {"input": {"n": 3, "fail_at": 1}}).json()
    assert body["status"] == "failed"
    assert "failed at 1" in body["error"]
    assert "RuntimeError: failed at 1" in body["logs"]


# --- output values a model may return --------------------------------------------------------


@pytest.mark.parametrize("kind", ["big-int", "nested-big"])
def test_an_integer_output_too_large_for_64_bits_does_not_kill_the_worker(kind: str) -> None:
    with running_server(AUDIT / "outputs") as server:
        body = predict(server, {"input": {"kind": kind}}).json()
        assert "worker process died" not in (body["error"] or "")
        assert "died" not in server.output


@pytest.mark.parametrize("kind", ["nan", "inf"])
def test_a_non_finite_float_output_is_not_silently_null(kind: str) -> None:
    with running_server(AUDIT / "outputs") as server:
        body = predict(server, {"input": {"kind": kind}}).json()
        assert body["status"] == "failed", body


def test_tuple_output_is_a_list_and_unencodable_strings_fail() -> None:
    with running_server(AUDIT / "outputs") as server:
        assert predict(server, {"input": {"kind": "tuple"}}).json()["output"] == [1, 2]
        body = predict(server, {"input": {"kind": "surrogate"}}).json()
        assert body["status"] == "failed"
        assert "surrogates not allowed" in body["error"]
        assert predict(server, {"input": {"kind": "none"}}).json()["status"] == "succeeded"
