"""Large inputs end to end: one float32 array summed by a model, through each way of sending it.

    .venv/bin/python -m benchmarks.large_inputs [--sizes 1,64,1024] [--repeat 5] [--json FILE]

Cases, in one run on one machine:

- floor: one copy of the same bytes in numpy (into a warm buffer);
- (a) reference Cog 0.23.1, JSON body with a `.npy` data URL to a `cog.Path` input that the
  model `numpy.load`s (Cog refuses bodies over 100 MiB: 1 and 64 MiB only);
- (b) this server, the same JSON, to a `numpy.ndarray` input;
- (c) this server, msgpack body with the `.npy` bytes;
- (d) this server, the array in a registered shared-memory region (filled before timing).

Latency is the median wall time of a request from the client (bodies built beforehand; a
409, which Cog 0.23.1 can answer right after a response, is retried within the time;
after two untimed requests). Memory is the peak, over those first two requests, of the
server's whole process tree (front + workers) above the same tree idle before the
first request: RSS summed over processes (shared pages count once per process that maps
them) and PSS (each shared page divided among the processes mapping it; the physical
memory added). Each case runs on a freshly started server. The end of the output is the
compiled-vs-pure-twin ratio of each native function.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from benchmarks.load.proctree import descendants
from benchmarks.reference import SERVER_REFERENCE, reference_python
from cog.client import Client, npy_bytes

REPO = Path(__file__).resolve().parent.parent
MiB = 1 << 20
REFERENCE_LIMIT = 100 * MiB

OURS_PREDICTOR = """
from typing import Annotated

import numpy as np

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, x: Annotated[np.ndarray, np.float32] = Input()) -> float:
        return float(x.sum())
"""

REFERENCE_PREDICTOR = """
import numpy as np

from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def predict(self, x: Path = Input()) -> float:
        return float(np.load(x).sum())
"""


@dataclass
class Result:
    case: str
    size_mib: int
    latency_s: list[float] = field(default_factory=list)
    rss_added: int = 0
    pss_added: int = 0
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.latency_s) if self.latency_s else float("nan")


# --------------------------------------------------------------------------- memory


def _tree_memory(pid: int) -> tuple[int, int]:
    """(RSS summed, PSS summed) of a process tree, in bytes."""
    rss = pss = 0
    for p in descendants(pid):
        try:
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss += int(line.split()[1]) * 1024
    return rss, pss


class PeakMemory:
    """Samples a tree's RSS and PSS in a thread, keeping the peaks."""

    def __init__(self, pid: int, interval: float = 0.005) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_rss = self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, pss = _tree_memory(self.pid)
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        rss, pss = _tree_memory(self.pid)
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)


# --------------------------------------------------------------------------- servers


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _project(root: Path, name: str, source: str) -> Path:
    project = root / name
    (project / ".cog").mkdir(parents=True)
    (project / "predict.py").write_text(source)
    (project / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    from cog.loader import load_runner
    from cog.schema import openapi_schema

    schema = openapi_schema(load_runner("predict.py:Predictor", str(project)), None)
    (project / ".cog" / "openapi_schema.json").write_text(json.dumps(schema))
    return project


def _numpy_only(root: Path) -> Path:
    """A directory holding only numpy (from this venv), for the reference venv's PYTHONPATH:
    its predictor needs numpy, and the shared reference install stays untouched."""
    target = root / "numpy-only"
    target.mkdir()
    site = Path(np.__file__).resolve().parent.parent
    for name in ("numpy", "numpy.libs"):
        if (site / name).exists():
            (target / name).symlink_to(site / name)
    return target


@contextmanager
def server(
    python: Path, project: Path, env: dict[str, str], args: tuple[str, ...] = ()
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = _free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COG_")}
    environ.update(
        {
            "COG_PREDICT_TYPE_STUB": "predict.py:Predictor",
            "COG_OPENAPI_SCHEMA": str(project / ".cog" / "openapi_schema.json"),
            "PORT": str(port),
            "PATH": f"{python.parent}{os.pathsep}{environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
    )
    log = open(project / f"server-{port}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(python), "-m", "cog.server.http", "--host", "127.0.0.1", *args],
        cwd=project,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {(project / log.name).read_text()}")
            try:
                status, body = _request(port, "GET", "/health-check", b"", {}, timeout=2)
                if status == 200 and json.loads(body)["status"] == "READY":
                    break
            except OSError:
                pass
            time.sleep(0.1)
        time.sleep(1.0)  # let start-up settle before the idle baseline
        yield port, proc
    finally:
        import signal

        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _request(
    port: int, method: str, path: str, body: bytes, headers: dict[str, str], timeout: float = 600
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --------------------------------------------------------------------------- cases


def _timed(
    result: Result, pid: int, send: Callable[[], float], repeat: int, expected: float
) -> None:
    """Memory over the first two requests (sampled: reading smaps costs CPU), then latency
    of `repeat` more with no sampler running."""
    idle_rss, idle_pss = _tree_memory(pid)

    def check(got: float) -> None:
        if not np.isclose(got, expected, rtol=1e-5):
            raise RuntimeError(f"{result.case}: the model returned {got}, expected {expected}")

    with PeakMemory(pid) as peak:
        for _ in range(2):
            check(send())
    result.rss_added = peak.peak_rss - idle_rss
    result.pss_added = peak.peak_pss - idle_pss
    for _ in range(repeat):
        started = time.perf_counter()
        got = send()
        result.latency_s.append(time.perf_counter() - started)
        check(got)


def _post(port: int, body: bytes, content_type: str) -> Callable[[], float]:
    def send() -> float:
        status, answer = _request(
            port, "POST", "/predictions", body, {"Content-Type": content_type}
        )
        while status == 409:  # Cog 0.23.1 can refuse a request right after a response
            time.sleep(0.005)
            status, answer = _request(
                port, "POST", "/predictions", body, {"Content-Type": content_type}
            )
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {answer[:300]!r}")
        envelope = json.loads(answer)
        if envelope["status"] != "succeeded":
            raise RuntimeError(f"prediction {envelope['status']}: {envelope.get('error')}")
        return float(envelope["output"])

    return send


def run(sizes: list[int], repeat: int) -> list[Result]:
    results: list[Result] = []
    root = Path(tempfile.mkdtemp(prefix="cog-large-bench-"))
    try:
        ours = _project(root, "ours", OURS_PREDICTOR)
        reference = _project(root, "reference", REFERENCE_PREDICTOR)
        ref_python = reference_python(SERVER_REFERENCE)
        ref_env = {"PYTHONPATH": str(_numpy_only(root))}
        our_env = {
            "COG_MAX_BODY_BYTES": str(4 << 30),
            "COG_MAX_BINARY_BODY_BYTES": str(2 << 30),
            "COG_SHM_REGIONS": "1",
        }
        for size in sizes:
            array = np.random.default_rng(0).random(size * MiB // 4, dtype=np.float32)
            expected = float(array.sum())
            print(f"--- {size} MiB", flush=True)

            floor = Result("floor: one numpy copy", size)
            dst = np.empty_like(array)
            np.copyto(dst, array)
            for _ in range(repeat):
                started = time.perf_counter()
                np.copyto(dst, array)
                floor.latency_s.append(time.perf_counter() - started)
            del dst
            results.append(floor)

            npy = npy_bytes(array)
            json_body = msgspec.json.encode(
                {"input": {"x": "data:application/x-npy;base64," + base64.b64encode(npy).decode()}}
            )
            if len(json_body) <= REFERENCE_LIMIT:
                result = Result("(a) reference Cog, JSON data URL", size)
                with server(ref_python, reference, ref_env) as (port, proc):
                    _timed(
                        result,
                        proc.pid,
                        _post(port, json_body, "application/json"),
                        repeat,
                        expected,
                    )
                results.append(result)
                print(_row(result), flush=True)

            result = Result("(b) this server, JSON data URL", size)
            with server(Path(sys.executable), ours, our_env) as (port, proc):
                _timed(
                    result, proc.pid, _post(port, json_body, "application/json"), repeat, expected
                )
            results.append(result)
            print(_row(result), flush=True)
            del json_body

            msgpack_body = msgspec.msgpack.encode({"input": {"x": npy}})
            del npy
            result = Result("(c) this server, msgpack body", size)
            with server(Path(sys.executable), ours, our_env) as (port, proc):
                _timed(
                    result,
                    proc.pid,
                    _post(port, msgpack_body, "application/msgpack"),
                    repeat,
                    expected,
                )
            results.append(result)
            print(_row(result), flush=True)
            del msgpack_body

            result = Result("(d) this server, shared-memory region", size)
            with server(Path(sys.executable), ours, our_env) as (port, proc):
                with Client(f"http://127.0.0.1:{port}") as client:
                    region = client.shared_region(array.nbytes + MiB, name="bench")
                    shared = region.array(array.shape, np.float32)
                    shared[:] = array

                    def send(x: np.ndarray = shared) -> float:
                        envelope = client.predict({"x": x})
                        if envelope["status"] != "succeeded":
                            raise RuntimeError(envelope.get("error"))
                        return float(envelope["output"])

                    _timed(result, proc.pid, send, repeat, expected)
                    del shared, send
                    region.close()
            results.append(result)
            print(_row(result), flush=True)
            del array
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return results


# --------------------------------------------------------------------------- threshold


def threshold_sweep(repeat: int) -> list[tuple[int, float, float]]:
    """(payload bytes, inline median s, shared-memory median s) of msgpack requests: where
    passing a descriptor starts to beat copying the bytes through the worker's socket."""
    rows = []
    root = Path(tempfile.mkdtemp(prefix="cog-large-sweep-"))
    try:
        ours = _project(root, "ours", OURS_PREDICTOR)
        bodies = {}
        for kib in (4, 16, 64, 256, 1024):
            array = np.ones(kib * 1024 // 4, np.float32)
            bodies[kib] = (msgspec.msgpack.encode({"input": {"x": npy_bytes(array)}}), array.size)
        medians: dict[tuple[str, int], float] = {}
        for mode, threshold in (("inline", 1 << 40), ("shared", 1)):
            env = {"COG_SLAB_THRESHOLD": str(threshold)}
            with server(Path(sys.executable), ours, env) as (port, _):
                for kib, (body, expected) in bodies.items():
                    send = _post(port, body, "application/msgpack")
                    times = []
                    for i in range(repeat * 4 + 2):
                        started = time.perf_counter()
                        assert send() == expected
                        if i >= 2:
                            times.append(time.perf_counter() - started)
                    medians[(mode, kib)] = statistics.median(times)
        for kib in bodies:
            rows.append((kib * 1024, medians[("inline", kib)], medians[("shared", kib)]))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return rows


# --------------------------------------------------------------------------- native ratios


def native_ratios() -> list[tuple[str, float, float]]:
    """(function, compiled seconds, pure-twin seconds): best of several timing rounds."""
    from cog._native.select import native
    from cog.runtime import protocol

    raw = os.urandom(MiB)
    uri = "data:application/octet-stream;base64," + base64.b64encode(raw).decode()
    npy = npy_bytes(np.zeros((64, 3, 224, 224), np.float32))
    buf = bytearray(64 * MiB)
    out = bytearray(len(raw))
    predict = protocol.Predict("id", {"x": 1, "y": "two"}, {})
    rows = []
    for label, make in (
        ("datauri.decode_into (1 MiB)", lambda m: lambda: m.decode_into(uri, m.parse(uri), out)),
        ("npy.parse_header", lambda m: lambda: m.parse_header(npy)),
        (
            "npy.header_bytes",
            lambda m: lambda: m.header_bytes(np.dtype("<f4"), (64, 3, 224, 224), False),
        ),
        ("slab.SlabAllocator alloc+free", lambda m: _alloc_free(m)),
        (
            "slab.array_view",
            lambda m: lambda: m.array_view(buf, 4096, 4 * MiB, "<f4", (1024, 1024)),
        ),
        ("frames encode+decode (PREDICT)", lambda m: _frames(m, predict)),
    ):
        module = label.split(".", 1)[0].split(" ", 1)[0]
        times = []
        for pure in (False, True):
            fn = make(native(module, pure=pure))
            number = max(1, int(0.05 / max(timeit.timeit(fn, number=1), 1e-7)))
            times.append(min(timeit.repeat(fn, number=number, repeat=5)) / number)
        rows.append((label, times[0], times[1]))
    return rows


def _alloc_free(module: Any) -> Callable[[], None]:
    allocator = module.SlabAllocator(256 * MiB, 64)
    keep = [allocator.alloc(4096) for _ in range(16)]
    for offset in keep[::2]:
        allocator.free(offset)

    def step() -> None:
        allocator.free(allocator.alloc(MiB))

    return step


def _frames(module: Any, predict: Any) -> Callable[[], Any]:
    from cog.runtime import protocol

    codec = module.FrameCodec({protocol.PREDICT: msgspec.msgpack.Decoder(protocol.Predict)})

    def step() -> Any:
        return codec.decode(codec.encode(protocol.PREDICT, 7, predict))

    return step


# --------------------------------------------------------------------------- report


def _row(r: Result) -> str:
    mem = (
        ""
        if r.case.startswith("floor")
        else f" | {r.rss_added / MiB:,.0f} MiB ({r.rss_added / (r.size_mib * MiB):.2f}x)"
        f" | {r.pss_added / MiB:,.0f} MiB ({r.pss_added / (r.size_mib * MiB):.2f}x)"
    )
    if not mem:
        mem = " | | "
    return f"| {r.size_mib} MiB | {r.case} | {_ms(r.median)}{mem} |"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms" if seconds < 10 else f"{seconds:,.2f} s"


def report(results: list[Result]) -> str:
    lines = [
        "| size | case | median latency | peak added RSS (front+worker) | peak added PSS |",
        "| --- | --- | --- | --- | --- |",
        *(_row(r) for r in results),
        "",
        "| size | (d) / floor | (c) vs (a) | (b) vs (a) |",
        "| --- | --- | --- | --- |",
    ]
    by = {(r.size_mib, r.case[:3]): r for r in results}
    for size in sorted({r.size_mib for r in results}):
        floor, a = by.get((size, "flo")), by.get((size, "(a)"))
        b, c, d = by.get((size, "(b)")), by.get((size, "(c)")), by.get((size, "(d)"))
        lines.append(
            f"| {size} MiB | {_ratio(d, floor)} | {_ratio(a, c, faster=True)} "
            f"| {_ratio(a, b, faster=True)} |"
        )
    return "\n".join(lines)


def _ratio(x: Result | None, y: Result | None, faster: bool = False) -> str:
    if x is None or y is None:
        return "n/a"
    value = x.median / y.median
    return f"{value:.1f}x faster" if faster else f"{value:.2f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="1,64,1024", help="MiB, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per case")
    parser.add_argument("--json", type=Path, default=None, help="write raw results here")
    parser.add_argument("--no-native", action="store_true", help="skip the native ratios")
    parser.add_argument(
        "--sweep", action="store_true", help="only measure the inline/shared-memory threshold"
    )
    args = parser.parse_args(argv)
    if args.sweep:
        print("| payload | inline in the message | shared memory |")
        print("| --- | --- | --- |")
        for size, inline, shared in threshold_sweep(args.repeat):
            print(f"| {size >> 10} KiB | {_ms(inline)} | {_ms(shared)} |")
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    results = run(sizes, args.repeat)
    print()
    print(report(results))
    ratios = [] if args.no_native else native_ratios()
    if ratios:
        print()
        print("| native function | compiled | pure twin | compiled vs twin |")
        print("| --- | --- | --- | --- |")
        for label, compiled, pure in ratios:
            print(
                f"| {label} | {compiled * 1e6:,.2f} us | {pure * 1e6:,.2f} us | {pure / compiled:.1f}x |"
            )
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "results": [{**asdict(r), "median_s": r.median} for r in results],
                    "native": ratios,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
