"""File inputs (URLs, data URLs) and outputs (data URLs, uploads) through a real server."""

from __future__ import annotations

import base64
import glob
import os
import tempfile
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.http.conftest import FIXTURES
from tests.support.receiver import Receiver
from tests.support.server import ServerProcess, running_server

ASYNC = {"prefer": "respond-async"}


@pytest.fixture(scope="module")
def tmp_root() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as root:
        yield root


@pytest.fixture(scope="module")
def server(module_receiver: Receiver, tmp_root: str) -> Iterator[ServerProcess]:
    module_receiver.uploads["/in/hello.txt"] = b"hello world"
    module_receiver.uploads["/in/data.bin"] = b"\x00\x01\x02"
    env = {"TMPDIR": tmp_root, "COG_USER_AGENT": "files-test/1.0"}
    with running_server(FIXTURES / "files", env=env) as server:
        yield server


@pytest.fixture(scope="module")
def uploading(module_receiver: Receiver) -> Iterator[ServerProcess]:
    module_receiver.uploads["/in/hello.txt"] = b"hello world"
    with running_server(
        FIXTURES / "files", args=["--upload-url", module_receiver.url + "/up"]
    ) as server:
        yield server


def data_url(data: bytes, mime: str = "text/plain") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def decode(url: str) -> tuple[str, bytes]:
    header, payload = url.split(",", 1)
    return header, base64.b64decode(payload)


def test_url_and_data_url_inputs_and_nested_data_url_outputs(
    server: ServerProcess, module_receiver: Receiver
) -> None:
    response = httpx.post(
        server.url + "/predictions",
        json={
            "input": {
                "file": module_receiver.url + "/in/hello.txt?sig=abc",
                "files": [data_url(b"\x00\x01", "image/png"), module_receiver.url + "/in/data.bin"],
                "text": "https://example.invalid/stays-a-string",
            }
        },
        timeout=60,
    )
    body = response.json()
    assert body["status"] == "succeeded", body
    output = body["output"]
    assert output["name"] == "hello.txt"  # the original basename is kept
    assert output["content"] == "hello world"
    assert output["names"] == ["file.png", "data.bin"]  # data URLs become file<.ext>
    header, data = decode(output["copy"])
    assert header == "data:text/plain;base64"
    assert data == b"HELLO WORLD"
    assert [decode(c)[1] for c in output["copies"]] == [b"\x00\x01", b"\x00\x01\x02"]
    assert decode(output["copies"][0])[0] == "data:application/octet-stream;base64"
    assert "text=https://example.invalid/stays-a-string" in body["logs"]
    # the request echo keeps the URLs, not local paths
    assert body["input"]["file"].startswith(module_receiver.url)
    get = next(r for r in module_receiver.requests if r.path == "/in/hello.txt?sig=abc")
    assert get.headers["user-agent"] == "files-test/1.0"


def test_input_temp_files_are_removed(
    server: ServerProcess, module_receiver: Receiver, tmp_root: str
) -> None:
    httpx.post(
        server.url + "/predictions",
        json={"input": {"file": module_receiver.url + "/in/hello.txt", "files": []}},
        timeout=60,
    )
    assert glob.glob(os.path.join(tmp_root, "cog-inputs-*")) == []


def test_failed_download_fails_the_prediction(
    server: ServerProcess, module_receiver: Receiver
) -> None:
    response = httpx.post(
        server.url + "/predictions",
        json={"input": {"file": module_receiver.url + "/in/missing.txt", "files": []}},
        timeout=60,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed"
    assert "404" in body["error"]
    assert "missing.txt" in body["error"]


def test_download_happens_after_the_202(server: ServerProcess, module_receiver: Receiver) -> None:
    response = httpx.post(
        server.url + "/predictions",
        json={
            "input": {"file": module_receiver.url + "/in/missing.txt", "files": []},
            "webhook": module_receiver.url + "/hook",
        },
        headers=ASYNC,
    )
    assert response.status_code == 202
    final = module_receiver.wait_completed(response.json()["id"])
    assert final["status"] == "failed"


def test_uploads_every_file_in_the_tree(
    uploading: ServerProcess, module_receiver: Receiver
) -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = httpx.post(
        uploading.url + "/predictions",
        json={
            "input": {
                "file": module_receiver.url + "/in/hello.txt",
                "files": [data_url(b"abc")],
            }
        },
        headers={"traceparent": traceparent},
        timeout=60,
    )
    body = response.json()
    assert body["status"] == "succeeded", body
    output = body["output"]
    # URL from Location, query string stripped; nested files uploaded too
    assert output["copy"] == module_receiver.url + "/stored/up/copy.txt"
    assert output["copies"] == [module_receiver.url + "/stored/up/copy0.bin"]
    assert module_receiver.uploads["/up/copy.txt"] == b"HELLO WORLD"
    assert module_receiver.uploads["/up/copy0.bin"] == b"abc"
    put = next(
        r for r in module_receiver.requests if r.method == "PUT" and r.path == "/up/copy.txt"
    )
    assert put.headers["content-type"] == "text/plain"
    assert put.headers["x-prediction-id"] == body["id"]
    assert put.headers["traceparent"] == traceparent


def test_upload_is_retried_on_503(uploading: ServerProcess, module_receiver: Receiver) -> None:
    module_receiver.fail_next(503, 503)
    response = httpx.post(
        uploading.url + "/predictions",
        json={"input": {"file": data_url(b"retry"), "files": []}},
        timeout=60,
    )
    body = response.json()
    assert body["status"] == "succeeded", body
    assert body["output"]["copy"] == module_receiver.url + "/stored/up/copy.txt"
    assert module_receiver.uploads["/up/copy.txt"] == b"RETRY"


def test_upload_failure_fails_the_prediction(
    uploading: ServerProcess, module_receiver: Receiver
) -> None:
    module_receiver.fail_next(403)
    response = httpx.post(
        uploading.url + "/predictions",
        json={"input": {"file": data_url(b"x"), "files": []}},
        timeout=60,
    )
    body = response.json()
    assert body["status"] == "failed"
    assert "upload" in body["error"]


def test_list_of_one_path_stays_a_list(module_receiver: Receiver) -> None:
    with running_server(FIXTURES / "files", ref="paths.py:Predictor") as server:
        body = httpx.post(server.url + "/predictions", json={"input": {"n": 1}}, timeout=60).json()
    assert isinstance(body["output"], list) and len(body["output"]) == 1
    assert decode(body["output"][0])[1] == b"file 0"


def test_iterator_files_uploaded_in_yield_order(module_receiver: Receiver) -> None:
    with running_server(
        FIXTURES / "stream",
        ref="predict.py:Files",
        args=["--upload-url", module_receiver.url + "/iter/"],
    ) as server:
        body = httpx.post(server.url + "/predictions", json={"input": {"n": 3}}, timeout=60).json()
    assert body["status"] == "succeeded", body
    assert body["output"] == [module_receiver.url + f"/stored/iter/item{i}.txt" for i in range(3)]
    puts = [
        r.path
        for r in module_receiver.requests
        if r.method == "PUT" and r.path.startswith("/iter/")
    ]
    assert puts == ["/iter/item0.txt", "/iter/item1.txt", "/iter/item2.txt"]


def test_legacy_output_file_prefix_uploads_multipart(
    server: ServerProcess, module_receiver: Receiver
) -> None:
    prefix = module_receiver.url + "/legacy/"
    response = httpx.post(
        server.url + "/predictions",
        json={"input": {"file": data_url(b"abc"), "files": []}, "output_file_prefix": prefix},
        timeout=60,
    )
    body = response.json()
    assert body["status"] == "succeeded", body
    assert body["output"]["copy"] == prefix + "copy.txt"
    put = next(r for r in module_receiver.requests if r.path == "/legacy/copy.txt")
    assert put.method == "PUT"
    assert put.headers["content-type"].startswith("multipart/form-data")
    assert b'name="file"' in put.body and b"ABC" in put.body


def test_large_data_url_input(server: ServerProcess) -> None:
    payload = bytes(range(256)) * (24 * 1024 * 4)  # 24 MiB, 32 MiB as base64
    response = httpx.post(
        server.url + "/predictions",
        json={"input": {"file": data_url(b"big"), "files": [data_url(payload, "image/png")]}},
        timeout=120,
    )
    body = response.json()
    assert body["status"] == "succeeded", body["error"]
    assert decode(body["output"]["copies"][0])[1] == payload


def test_cancel_during_a_slow_download(server: ServerProcess, module_receiver: Receiver) -> None:
    response = httpx.put(
        server.url + "/predictions/slow-download",
        json={
            "input": {"file": module_receiver.url + "/slow/big.bin", "files": []},
            "webhook": module_receiver.url + "/hook",
        },
        headers=ASYNC,
    )
    assert response.status_code == 202  # the slow URL does not delay the 202
    module_receiver.wait_for(lambda reqs: any(r.path == "/slow/big.bin" for r in reqs))
    assert httpx.post(server.url + "/predictions/slow-download/cancel").status_code == 200
    final = module_receiver.wait_completed("slow-download")
    assert final["status"] == "canceled"
    # the slot is free again
    after = httpx.post(
        server.url + "/predictions",
        json={"input": {"file": data_url(b"x"), "files": []}},
        timeout=60,
    )
    assert after.json()["status"] == "succeeded"


def test_file_inputs_must_be_http_or_data_urls(server: ServerProcess) -> None:
    for bad in ("/etc/passwd", "file:///etc/passwd", "ftp://host/x"):
        response = httpx.post(
            server.url + "/predictions", json={"input": {"file": bad, "files": []}}, timeout=60
        )
        assert response.status_code == 422, bad
        detail = response.json()["detail"][0]
        assert detail["loc"] == ["body", "input", "file"]
        assert "'data', 'http', or 'https' is supported" in detail["msg"]
    response = httpx.post(
        server.url + "/predictions",
        json={"input": {"file": data_url(b"x"), "files": ["/etc/hostname"]}},
        timeout=60,
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "input", "files"]
