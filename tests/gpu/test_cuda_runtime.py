"""A torch CUDA predictor under the runtime: setup on the GPU, predictions, cancel, and a
worker crash after which a fresh worker brings CUDA back. Needs an NVIDIA GPU and torch."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

import httpx  # noqa: E402

MODEL = Path(__file__).parent / "model"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(client: httpx.Client, timeout: float = 180.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            health = client.get("/health-check").json()
            if health["status"] in ("READY", "SETUP_FAILED"):
                return health
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server never became ready")


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    env = dict(os.environ, PORT=str(port), COG_PREDICT_TYPE_STUB="predict.py:Predictor")
    proc = subprocess.Popen([sys.executable, "-m", "cog.server.http"], cwd=MODEL, env=env)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    try:
        health = _wait_ready(client)
        assert health["status"] == "READY", health
        yield client
    finally:
        proc.terminate()
        proc.wait(30)


def test_setup_ran_on_the_gpu(server):
    health = server.get("/health-check").json()
    assert "setup on" in health["setup"]["logs"]
    assert torch.cuda.get_device_name(0) in health["setup"]["logs"]


def test_prediction_runs_on_the_gpu(server):
    r = server.post("/predictions", json={"input": {"n": 8}})
    body = r.json()
    assert r.status_code == 200 and body["status"] == "succeeded", body
    assert body["output"]["device"] == torch.cuda.get_device_name(0)
    expected = float((torch.ones(8, 1024) @ _weight()).sum())
    assert abs(body["output"]["sum"] - expected) / abs(expected) < 1e-3


def _weight():
    torch.manual_seed(0)
    return torch.randn(1024, 1024, device="cuda").cpu()


def test_cancel_a_running_cuda_prediction(server):
    r = server.post(
        "/predictions",
        json={"id": "gpu-cancel", "input": {"busy_seconds": 60}},
        headers={"Prefer": "respond-async"},
    )
    assert r.status_code == 202, r.text
    time.sleep(2)
    assert server.post("/predictions/gpu-cancel/cancel").status_code == 200
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = server.get("/predictions/gpu-cancel")
        if state.status_code == 200 and state.json()["status"] == "canceled":
            break
        time.sleep(0.2)
    else:
        raise AssertionError("prediction was not canceled")
    after = server.post("/predictions", json={"input": {"n": 2}}).json()
    assert after["status"] == "succeeded", after


def test_worker_crash_brings_cuda_back(server):
    before = server.post("/predictions", json={"input": {}}).json()
    crashed = server.post("/predictions", json={"input": {"crash": True}}).json()
    assert crashed["status"] == "failed", crashed
    assert crashed["error"]
    health = _wait_ready(server)
    assert health["status"] == "READY", health
    after = server.post("/predictions", json={"input": {"n": 4}}).json()
    assert after["status"] == "succeeded", after
    assert after["output"]["pid"] != before["output"]["pid"]
    assert after["output"]["device"] == torch.cuda.get_device_name(0)
