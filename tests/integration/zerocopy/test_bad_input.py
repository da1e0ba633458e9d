"""Bad bodies and values: each a 4xx naming the problem, and nothing held afterwards.

The server here has a 16 MiB slab that cannot grow (the binary body limit is 20 MiB), and
every bad request carries about 5 MiB: if any of them kept its shared memory, a few
would fill the slab and the last, good request would no longer be served from it.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import numpy as np
import pytest

from cog.client import npy_bytes
from tests.integration.zerocopy.conftest import ARRAYS, MSGPACK
from tests.integration.zerocopy.memory import slab_mappings
from tests.support.server import ServerProcess, running_server

PAYLOAD = 5 << 20
ROUNDS = 4


@pytest.fixture(scope="module")
def tight() -> Iterator[ServerProcess]:
    env = {
        "COG_SLAB_SIZE": str(16 << 20),
        "COG_SLAB_MAX_SIZE": str(16 << 20),
        "COG_MAX_BINARY_BODY_BYTES": str(20 << 20),
    }
    with running_server(ARRAYS, env=env) as server:
        yield server


def send_msgpack(server: ServerProcess, body: bytes) -> httpx.Response:
    return httpx.post(server.url + "/predictions", content=body, headers=MSGPACK, timeout=60)


def detail(response: httpx.Response) -> str:
    body = response.json()["detail"]
    return body if isinstance(body, str) else body[0]["msg"]


def envelope(**inputs: Any) -> bytes:
    return msgspec.msgpack.encode({"input": inputs})


def floats(n_bytes: int, dtype: Any = np.float32, cols: int = 1) -> np.ndarray:
    itemsize = np.dtype(dtype).itemsize
    return np.ones((n_bytes // itemsize // cols, cols), dtype=dtype)


def test_malformed_msgpack_is_400(tight: ServerProcess) -> None:
    for _ in range(ROUNDS):
        response = send_msgpack(tight, b"\x81\xa5input\xc1" + bytes(PAYLOAD))
        assert response.status_code == 400
        assert "Failed to parse the request body as msgpack" in detail(response)


def test_npy_header_that_lies_about_its_size_is_422(tight: ServerProcess) -> None:
    payload = npy_bytes(floats(PAYLOAD))
    for _ in range(ROUNDS):
        response = send_msgpack(tight, envelope(x=payload[:-1024]))
        assert response.status_code == 422
        assert "truncated .npy data" in detail(response)
        assert response.json()["detail"][0]["loc"] == ["body", "input", "x"]


def test_bytes_that_are_no_npy_payload_are_422(tight: ServerProcess) -> None:
    response = send_msgpack(tight, envelope(x=b"PK\x03\x04" + bytes(PAYLOAD)))
    assert response.status_code == 422
    assert "not a .npy payload" in detail(response)


def test_wrong_dtype_for_a_declared_input_is_422(tight: ServerProcess) -> None:
    for _ in range(ROUNDS):
        response = send_msgpack(tight, envelope(points=npy_bytes(floats(PAYLOAD, np.float64, 3))))
        assert response.status_code == 422
        assert "points must be a float32 array, got float64" in detail(response)


def test_wrong_shape_for_a_declared_input_is_422(tight: ServerProcess) -> None:
    for _ in range(ROUNDS):
        response = send_msgpack(tight, envelope(points=npy_bytes(floats(PAYLOAD, np.float32, 4))))
        assert response.status_code == 422
        assert "points must have shape (*, 3), got" in detail(response)


def test_small_bad_arrays_are_checked_too(tight: ServerProcess) -> None:
    response = send_msgpack(tight, envelope(points=npy_bytes(np.zeros((2, 2), np.float32))))
    assert response.status_code == 422
    assert "must have shape (*, 3), got (2, 2)" in detail(response)


def test_bytes_for_an_input_that_takes_no_bytes_is_422(tight: ServerProcess) -> None:
    response = send_msgpack(tight, envelope(sleep=bytes(PAYLOAD)))
    assert response.status_code == 422
    assert "only file (Path, File) and numpy.ndarray inputs accept" in detail(response)


def test_good_payload_with_another_bad_input_frees_the_payload(tight: ServerProcess) -> None:
    for _ in range(ROUNDS):
        response = send_msgpack(tight, envelope(x=npy_bytes(floats(PAYLOAD)), sleep="soon"))
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "input", "sleep"]


def test_bad_data_url_in_json_is_422_with_the_position(tight: ServerProcess) -> None:
    text = base64.b64encode(npy_bytes(floats(PAYLOAD))).decode()
    url = "data:application/x-npy;base64," + text[:1000] + "!" + text[1001:]
    for _ in range(ROUNDS):
        response = httpx.post(tight.url + "/predictions", json={"input": {"x": url}}, timeout=60)
        assert response.status_code == 422
        assert "invalid base64 character '!' (0x21) at position 1030" in detail(response)


def test_msgpack_body_without_a_length_is_411(tight: ServerProcess) -> None:
    def chunks() -> Iterator[bytes]:
        yield envelope(x=b"x")

    response = httpx.post(tight.url + "/predictions", content=chunks(), headers=MSGPACK, timeout=60)
    assert response.status_code == 411
    assert "Content-Length" in detail(response)


def test_msgpack_body_over_the_limit_is_413(tight: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", tight.port), timeout=30) as sock:
        sock.sendall(
            b"POST /predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\n"
            + f"Content-Length: {21 << 20}\r\n\r\n".encode()
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert b"limit of 20971520 bytes (msgpack)" in answer


def test_truncated_body_is_refused_and_freed(tight: ServerProcess) -> None:
    body = envelope(x=npy_bytes(floats(PAYLOAD)))
    for _ in range(ROUNDS):
        with socket.create_connection(("127.0.0.1", tight.port), timeout=30) as sock:
            sock.sendall(
                b"POST /predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body[: len(body) // 2]
            )
            sock.shutdown(socket.SHUT_WR)
            answer = sock.recv(4096)
        # the client is gone or half-gone: an answer, if any, says what happened
        if answer:
            assert answer.startswith(b"HTTP/1.1 400"), answer
            assert b"truncated request body" in answer


def test_after_all_that_the_slab_is_whole_and_no_slot_is_stuck(tight: ServerProcess) -> None:
    assert httpx.get(tight.url + "/health-check").json()["status"] == "READY"
    array = floats(10 << 20)  # 10 MiB: fits only if nothing above kept its block
    response = send_msgpack(tight, envelope(x=npy_bytes(array)))
    assert response.status_code == 200, response.text
    out = response.json()["output"]["x"]
    assert out["sum"] == array.size
    assert out["shared"].startswith("/dev/shm/cog-slab-"), out
    assert len({n for n in slab_mappings(tight.proc.pid) if n.startswith("cog-slab")}) == 1
