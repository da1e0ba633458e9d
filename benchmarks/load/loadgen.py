"""The load generator: wrk, one connection per thread, with `record.lua` timing each request.

wrk (C, epoll, LuaJIT) is the cheapest generator per request available as a Debian
package; on a 2-core machine every cycle it spends is taken from the server under test.
One connection per wrk thread keeps each response paired with the request just sent on
that thread, so the script records every request's status and latency (not only wrk's
merged histogram), and latencies of non-2xx answers (fast 409s) never flatter the
percentiles of successful ones.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.load.scenarios import Request

RECORD_LUA = Path(__file__).resolve().parent / "record.lua"


class LoadGeneratorError(RuntimeError):
    pass


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise LoadGeneratorError(
            "the load benchmark drives servers with wrk, which is not on PATH; "
            "install it with `apt-get install wrk` (Debian/Ubuntu)"
        )
    return path


def wrk_version() -> str:
    out = subprocess.run([wrk_path(), "-v"], capture_output=True, text=True).stdout
    return out.splitlines()[0].strip() if out else "unknown"


@dataclass
class LoadResult:
    """One timed run: every completed request's status and latency."""

    duration_s: float
    statuses: np.ndarray  # int, one per completed request
    latencies_us: np.ndarray  # float, one per completed request
    socket_errors: dict[str, int]
    generator_cpu_s: float  # wrk's user + system time

    @property
    def ok(self) -> np.ndarray:
        return (self.statuses >= 200) & (self.statuses < 300)

    @property
    def ok_latencies_us(self) -> np.ndarray:
        return self.latencies_us[self.ok]

    @property
    def non_2xx(self) -> dict[str, int]:
        """Counts by status; a 2xx whose body showed no success is keyed "<code> unsuccessful"."""
        codes = Counter(int(s) for s in self.statuses[~self.ok])
        return {(str(k) if k > 0 else f"{-k} unsuccessful"): v for k, v in sorted(codes.items())}


def write_request(request: Request, path: Path) -> None:
    """The request file record.lua reads: request line, headers, blank line, body."""
    head = [f"{request.method} {request.path}"]
    head += [f"{k}: {v}" for k, v in request.headers.items()]
    path.write_bytes("\n".join(head).encode() + b"\n\n" + request.body)


def run(
    url: str,
    request_file: Path,
    connections: int,
    duration_s: int,
    out: Path,
    expect: str = "",
) -> LoadResult:
    """Drive `url` with `connections` closed-loop connections for `duration_s` seconds.

    `expect` is a Lua pattern a successful response body must match ("" checks nothing).
    """
    if duration_s < 1:
        raise ValueError(f"duration must be at least 1 second, got {duration_s}")
    env = dict(
        os.environ,
        COG_BENCH_REQUEST=str(request_file),
        COG_BENCH_OUT=str(out),
        COG_BENCH_EXPECT=expect,
    )
    out.unlink(missing_ok=True)
    cmd = [
        wrk_path(),
        f"-t{connections}",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--timeout",
        "60s",
        "-s",
        str(RECORD_LUA),
        url,
    ]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    log = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or not out.exists():
        raise LoadGeneratorError(
            f"wrk exited with {proc.returncode}: {log.decode(errors='replace')[-2000:]}"
        )
    return parse(out, usage.ru_utime + usage.ru_stime)


def parse(out: Path, cpu_s: float) -> LoadResult:
    with out.open() as f:
        header = dict(kv.split("=") for kv in f.readline().lstrip("# ").split())
    rows = np.loadtxt(out, comments="#", ndmin=2).reshape(-1, 2)
    return LoadResult(
        duration_s=int(header["duration_us"]) / 1e6,
        statuses=rows[:, 0].astype(int),
        latencies_us=rows[:, 1],
        socket_errors={
            k.removesuffix("_errors"): int(header[k])
            for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
        },
        generator_cpu_s=cpu_s,
    )
