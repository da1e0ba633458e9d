"""msgpack and JSON bodies carrying arrays and files, and msgpack responses."""

from __future__ import annotations

import base64
import hashlib
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import msgspec
import numpy as np
import pytest

from cog.client import Client, npy_bytes
from tests.integration.zerocopy.conftest import MSGPACK
from tests.support.server import ServerProcess

BIG = 1 << 20  # above the 64 KiB threshold: crosses to the worker in shared memory


def post_msgpack(server: ServerProcess, envelope: dict[str, Any], **headers: str) -> Any:
    body = msgspec.msgpack.encode(envelope)
    return httpx.post(
        server.url + "/predictions", content=body, headers={**MSGPACK, **headers}, timeout=120
    )


def test_msgpack_array_reaches_the_model_as_a_view_of_shared_memory(
    server: ServerProcess,
) -> None:
    array = np.random.default_rng(1).random((512, 512), dtype=np.float32)
    response = post_msgpack(server, {"input": {"x": npy_bytes(array)}})
    assert response.status_code == 200, response.text
    out = response.json()["output"]["x"]
    assert out["shape"] == [512, 512] and out["dtype"] == "<f4"
    assert out["sum"] == pytest.approx(float(array.sum(dtype=np.float64)), rel=1e-6)
    assert out["shared"].startswith("/dev/shm/cog-slab-") and out["shared"].endswith("(deleted)")
    # what the prediction shows as its input is a summary, not the bytes again
    assert response.json()["input"]["x"] == "<float32 array 512x512, 1048576 bytes>"


def test_small_msgpack_array_travels_inline(server: ServerProcess) -> None:
    array = np.arange(12, dtype=np.int16).reshape(3, 4)
    response = post_msgpack(server, {"input": {"x": npy_bytes(array)}})
    assert response.status_code == 200, response.text
    out = response.json()["output"]["x"]
    assert out == {**out, "shape": [3, 4], "dtype": "<i2", "sum": 66.0}
    assert "cog-slab" not in out["shared"]


def test_fortran_order_array_keeps_its_layout(server: ServerProcess) -> None:
    array = np.asfortranarray(np.arange(300 * 400, dtype=np.float64).reshape(300, 400))
    response = post_msgpack(server, {"input": {"x": npy_bytes(array)}})
    out = response.json()["output"]["x"]
    assert out["shape"] == [300, 400] and out["fortran"] is True
    assert out["sum"] == float(array.sum())


def test_file_bytes_become_the_file_content(server: ServerProcess) -> None:
    data = np.random.default_rng(2).bytes(BIG + 17)
    small = b"a small file"
    response = post_msgpack(server, {"input": {"doc": data, "docs": [small, data]}})
    assert response.status_code == 200, response.text
    out = response.json()["output"]
    assert out["doc"] == {"len": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert out["docs"] == [hashlib.sha256(small).hexdigest(), hashlib.sha256(data).hexdigest()]


def test_envelope_fields_work_in_msgpack(server: ServerProcess) -> None:
    array = np.ones(BIG // 4, dtype=np.float32)
    body = msgspec.msgpack.encode({"id": "mp-put", "input": {"x": npy_bytes(array)}})
    response = httpx.put(
        server.url + "/predictions/mp-put", content=body, headers=MSGPACK, timeout=60
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "mp-put"
    assert response.json()["output"]["x"]["sum"] == BIG // 4


def test_async_msgpack_prediction_keeps_its_memory_until_it_ends(server: ServerProcess) -> None:
    array = np.full(BIG // 4, 2, dtype=np.float32)
    response = post_msgpack(
        server, {"input": {"x": npy_bytes(array), "sleep": 0.5}}, prefer="respond-async"
    )
    assert response.status_code == 202, response.text
    # another large request meanwhile must not be given the same bytes
    other = post_msgpack(server, {"input": {"x": npy_bytes(np.zeros(BIG // 4, np.float32))}})
    assert other.json()["output"]["x"]["sum"] == 0
    pid = response.json()["id"]
    for _ in range(200):
        done = httpx.get(f"{server.url}/predictions/{pid}").json()
        if done["status"] == "succeeded":
            break
        threading.Event().wait(0.05)
    assert done["output"]["x"]["sum"] == 2 * (BIG // 4)


def test_json_data_url_is_decoded_into_shared_memory(server: ServerProcess) -> None:
    array = np.arange(BIG // 8, dtype=np.float64)
    url = "data:application/x-npy;base64," + base64.b64encode(npy_bytes(array)).decode()
    response = httpx.post(server.url + "/predictions", json={"input": {"x": url}}, timeout=60)
    assert response.status_code == 200, response.text
    out = response.json()["output"]["x"]
    assert out["sum"] == float(array.sum()) and out["shape"] == [BIG // 8]
    assert out["shared"].startswith("/dev/shm/cog-slab-")


def test_json_file_data_url_in_shared_memory(server: ServerProcess) -> None:
    data = np.random.default_rng(3).bytes(BIG)
    url = "data:application/octet-stream;base64," + base64.b64encode(data).decode()
    response = httpx.post(server.url + "/predictions", json={"input": {"doc": url}}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["output"]["doc"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_json_nested_lists_and_small_data_urls_still_work(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + "/predictions",
        json={"input": {"points": [[1, 2, 3], [4, 5, 6]]}},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["output"]["points"]["shape"] == [2, 3]
    assert response.json()["output"]["points"]["dtype"] == "<f4"
    small = np.arange(5, dtype=np.int32)
    url = "data:application/x-npy;base64," + base64.b64encode(npy_bytes(small)).decode()
    response = httpx.post(server.url + "/predictions", json={"input": {"x": url}}, timeout=60)
    assert response.json()["output"]["x"]["sum"] == 10


@pytest.fixture
def npy_site() -> Iterator[str]:
    payload = npy_bytes(np.arange(7, dtype=np.uint8))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/a.npy"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_json_array_from_a_url(server: ServerProcess, npy_site: str) -> None:
    response = httpx.post(server.url + "/predictions", json={"input": {"x": npy_site}}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["output"]["x"]["sum"] == 21


def test_msgpack_response_carries_npy_and_file_bytes(server: ServerProcess) -> None:
    array = np.random.default_rng(4).random((256, 300)).astype(np.float32)
    response = post_msgpack(
        server,
        {"input": {"x": npy_bytes(array), "echo": True, "write": True}},
        accept="application/msgpack",
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/msgpack"
    envelope = msgspec.msgpack.decode(response.content)
    assert envelope["status"] == "succeeded", envelope["error"]
    echoed = np.load(io.BytesIO(envelope["output"]["x_array"]), allow_pickle=False)
    assert echoed.dtype == np.float32 and np.array_equal(echoed, array)
    assert envelope["output"]["file"] == b"written bytes"


def test_json_request_can_ask_for_a_msgpack_response(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + "/predictions",
        json={"input": {"points": [[1, 2, 3]], "echo": True}},
        headers={"accept": "application/msgpack"},
        timeout=60,
    )
    envelope = msgspec.msgpack.decode(response.content)
    points = np.load(io.BytesIO(envelope["output"]["points_array"]))
    assert points.tolist() == [[1.0, 2.0, 3.0]] and points.dtype == np.float32


def test_json_response_is_unchanged_without_accept(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + "/predictions",
        json={"input": {"points": [[1, 2, 3]], "echo": True, "write": True}},
        timeout=60,
    )
    output = response.json()["output"]
    assert output["points_array"] == [[1.0, 2.0, 3.0]]
    assert output["file"].startswith("data:")


def test_client_transports_against_the_server(server: ServerProcess) -> None:
    array = np.random.default_rng(5).random((128, 1024)).astype(np.float32)
    expected = float(array.sum(dtype=np.float64))
    with Client(server.url) as client:
        for transport in ("json", "msgpack", "shm"):
            out = client.predict({"x": array}, transport=transport)["output"]["x"]  # type: ignore[arg-type]
            assert out["sum"] == pytest.approx(expected, rel=1e-6), transport


def test_body_over_100_mib_is_accepted_as_msgpack(server: ServerProcess) -> None:
    array = np.ones((160 << 20) // 4, dtype=np.float32)  # 160 MiB: over Cog's 100 MiB limit
    response = post_msgpack(server, {"input": {"x": npy_bytes(array)}})
    assert response.status_code == 200, response.text
    assert response.json()["output"]["x"]["sum"] == array.size


def test_json_data_url_with_escaped_slashes(server: ServerProcess) -> None:
    data = np.random.default_rng(6).bytes(BIG)
    url = "data:application/octet-stream;base64," + base64.b64encode(data).decode()
    assert "/" in url
    body = b'{"input": {"doc": "' + url.replace("/", "\\/").encode() + b'"}}'
    response = httpx.post(
        server.url + "/predictions",
        content=body,
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["output"]["doc"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_client_binary_response_gives_arrays(server: ServerProcess) -> None:
    array = np.arange(200_000, dtype=np.int32).reshape(400, 500)
    with Client(server.url) as client:
        envelope = client.predict(
            {"x": array, "echo": True, "write": True}, transport="msgpack", binary_response=True
        )
    echoed = envelope["output"]["x_array"]
    assert isinstance(echoed, np.ndarray) and echoed.dtype == np.int32
    assert np.array_equal(echoed, array)
    assert envelope["output"]["file"] == b"written bytes"
