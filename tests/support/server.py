"""Start `python -m cog.server.http` as a real process on a free loopback port and wait for it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

READY_MARK = "cog.runtime: serving on"
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A running server: its base URL, its combined output, and a way to stop it."""

    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if READY_MARK in line:
                self._ready.set()
        self._ready.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until the port is open and setup has ended (the server prints a line)."""
        if not self._ready.wait(timeout) or self.proc.poll() is not None:
            raise RuntimeError(f"server did not become ready; output:\n{self.output}")

    def wait_listening(self, timeout: float = START_TIMEOUT) -> None:
        """Wait only for the port (setup may still be running)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited; output:\n{self.output}")
            try:
                httpx.get(self.url + "/health-check", timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not open its port; output:\n{self.output}")

    def client(self, timeout: float = 60.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        return self.proc.returncode


def launch(
    project_dir: str | os.PathLike[str],
    *,
    ref: str | None = "predict.py:Predictor",
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    python: str | os.PathLike[str] = sys.executable,
) -> ServerProcess:
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COG_")}
    environ.pop("KUBERNETES_SERVICE_HOST", None)
    environ["PORT"] = str(port)
    environ["PYTHONUNBUFFERED"] = "1"
    if ref is not None:
        environ["COG_PREDICT_TYPE_STUB"] = ref
    # a reference venv's worker is started as `python`: its bin dir must come first
    environ["PATH"] = str(Path(python).parent) + os.pathsep + environ.get("PATH", "")
    environ.update(env or {})
    proc = subprocess.Popen(
        [str(python), "-m", "cog.server.http", *args],
        cwd=str(project_dir),
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return ServerProcess(proc, port)


@contextmanager
def running_server(
    project_dir: str | os.PathLike[str], *, wait: bool = True, **kwargs: object
) -> Iterator[ServerProcess]:
    server = launch(project_dir, **kwargs)  # type: ignore[arg-type]
    try:
        if wait:
            server.wait_ready()
        yield server
    finally:
        server.stop()
