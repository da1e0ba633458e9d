"""The load generator's own ceiling: wrk against a constant granian RSGI app.

If a server's figures come near this ceiling, the generator (sharing the same cores)
is the limit, not the server. Measured with a scenario's model await as well, it is that
scenario's front floor: what granian alone reaches, before any worker or application code.
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


def point_key(concurrency: int, await_s: float = 0.0) -> str:
    """ "32" for the constant app at 32 connections; "32+5ms" when it awaits 5 ms too."""
    return str(concurrency) if not await_s else f"{concurrency}+{await_s * 1000:g}ms"


def measure(points: list[tuple[int, float]], duration_s: int, workdir: Path) -> dict[str, dict]:
    """Successful req/s and generator CPU at each (concurrency, await) point, keyed by
    `point_key`; one granian process per await time."""
    results: dict[str, dict] = {}
    for await_s in sorted({a for _, a in points}):
        concurrencies = sorted(c for c, a in points if a == await_s)
        results.update(_measure_app(concurrencies, await_s, duration_s, workdir))
    return results


def _measure_app(
    concurrencies: list[int], await_s: float, duration_s: int, workdir: Path
) -> dict[str, dict]:
    port = free_port()
    tag = f"-{await_s * 1000:g}ms" if await_s else ""
    log = open(workdir / f"ceiling-granian{tag}.log", "wb")
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
        env={**os.environ, "COG_BENCH_AWAIT_S": repr(await_s)},
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
                workdir / f"ceiling-c{point_key(c, await_s)}.out",
            )
            results[point_key(c, await_s)] = {
                "concurrency": c,
                "await_ms": round(await_s * 1000, 3),
                "rps": round(int(r.ok.sum()) / r.duration_s, 1),
                "p50_ms": percentile_ms(r.ok_latencies_us, 50),
                "generator_cpu_share": round(r.generator_cpu_s / r.duration_s, 3),
            }
        return results
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        log.close()
