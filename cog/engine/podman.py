"""Podman's Docker-compatible API service, started by `cog` when podman is the only engine."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time

import docker

from cog.engine.errors import EngineUnavailable

_services: list[subprocess.Popen[bytes]] = []


def installed() -> bool:
    return shutil.which("podman") is not None


def start_service(timeout: float = 30.0) -> str:
    """Start `podman system service --time=0` on a private socket and return its URL.

    The service lives as long as this process: it is stopped at exit."""
    podman = shutil.which("podman")
    if podman is None:
        raise EngineUnavailable("podman is not installed")
    sock_dir = tempfile.mkdtemp(prefix="cog-podman-")
    sock = os.path.join(sock_dir, "podman.sock")
    url = f"unix://{sock}"
    log_path = os.path.join(sock_dir, "service.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [podman, "system", "service", "--time=0", url],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # A service whose working folder is later deleted fails every container start
            # ("write child: broken pipe"); / always exists.
            cwd="/",
        )
    _services.append(proc)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if os.path.exists(sock):
            try:
                docker.DockerClient(base_url=url, timeout=5).ping()
                return url
            except Exception:  # noqa: BLE001 - not answering yet
                pass
        time.sleep(0.1)
    with open(log_path, encoding="utf-8", errors="replace") as f:
        output = f.read().strip()
    _stop(proc)
    raise EngineUnavailable(
        f"podman is installed but `podman system service` did not start: {output or 'no output'}"
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@atexit.register
def _stop_all() -> None:
    while _services:
        _stop(_services.pop())
