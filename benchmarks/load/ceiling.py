"""The load generator's own ceiling: wrk against a constant granian RSGI app.

If a server's figures come near this ceiling, the generator (sharing the same cores)
is the limit, not the server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.load import loadgen
from benchmarks.load.report import percentile_ms
from benchmarks.load.scenarios import json_request
from benchmarks.load.servers import ServerError, free_port, health

REPO = Path(__file__).resolve().parents[2]


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"granian exited with {proc.returncode}")
        # The constant app answers any path, /health-check included.
        if health(port) is not None:
            return
        time.sleep(0.02)
    raise ServerError(f"granian did not answer within {timeout:.0f} s")


def measure(concurrencies: list[int], duration_s: int, workdir: Path) -> dict[str, dict]:
    """Successful req/s and generator CPU at each concurrency, keyed by str(concurrency)."""
    port = free_port()
    log = open(workdir / "ceiling-granian.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "rsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "benchmarks.load.trivial_app:app",
        ],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_listening(port, proc)
        request_file = workdir / "ceiling.request"
        loadgen.write_request(json_request({"n": 1}), request_file)
        results: dict[str, dict] = {}
        for c in concurrencies:
            r = loadgen.run(
                f"http://127.0.0.1:{port}/predictions",
                request_file,
                c,
                duration_s,
                workdir / f"ceiling-c{c}.out",
            )
            results[str(c)] = {
                "concurrency": c,
                "rps": round(int(r.ok.sum()) / r.duration_s, 1),
                "p50_ms": percentile_ms(r.ok_latencies_us, 50),
                "generator_cpu_share": round(r.generator_cpu_s / r.duration_s, 3),
            }
        return results
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        log.close()
