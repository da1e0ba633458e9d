"""Start a Cog HTTP server (this project's or the reference) on a scenario's predictor.

Both are started the same way a built image starts them: `python -m cog.server.http` in
the predictor's directory with COG_PREDICT_TYPE_STUB, PORT, the schema at
`.cog/openapi_schema.json` (and COG_OPENAPI_SCHEMA pointing at it), and what the build
bakes in (COG_MAX_CONCURRENCY for `concurrency.max`).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.load.proctree import PeakRss
from benchmarks.load.scenarios import Scenario
from benchmarks.reference import SERVER_REFERENCE, reference_python

THIS = "cogpy"
REFERENCE = "reference"
#: The design floor (pool_floor.py): measured beside this server where a scenario has a
#: throughput goal.
FLOOR = "floor"
REPO = Path(__file__).resolve().parents[2]


class ServerError(RuntimeError):
    """The server did not reach READY; the message carries the end of its log."""


@dataclass(frozen=True)
class Side:
    """One of the two servers under comparison."""

    name: str
    python: Path
    label: str
    module: str = "cog.server.http"  # run with `python -m`


def sides() -> dict[str, Side]:
    """This project (the running interpreter's env) and the reference Cog install."""
    return {
        THIS: Side(THIS, Path(sys.executable), "cogpy (this project)"),
        REFERENCE: Side(
            REFERENCE,
            reference_python(SERVER_REFERENCE),
            f"cog {SERVER_REFERENCE} + coglet {SERVER_REFERENCE}",
        ),
        FLOOR: Side(
            FLOOR,
            Path(sys.executable),
            "design floor: granian + this project's worker pool, no front logic",
            "benchmarks.load.pool_floor",
        ),
    }


def prepare_project(scenario: Scenario, root: Path) -> Path:
    """A copy of the predictor's directory with the schema a build would ship."""
    project = root / scenario.name
    if project.exists():
        shutil.rmtree(project)
    shutil.copytree(scenario.predictor_dir, project, ignore=shutil.ignore_patterns("__pycache__"))
    (project / ".cog").mkdir()
    (project / ".cog" / "openapi_schema.json").write_text(json.dumps(scenario.openapi_schema()))
    if scenario.numpy:
        _link_numpy(project / NUMPY_DIR)
    return project


#: Under a project copy: a directory holding only this environment's numpy, for PYTHONPATH.
NUMPY_DIR = ".numpy"


def _link_numpy(target: Path) -> None:
    """Links numpy (and its bundled libraries) alone, so the reference install gets numpy
    without anything else of this environment (its own cog above all)."""
    import numpy

    target.mkdir()
    site = Path(numpy.__file__).resolve().parent.parent
    for name in ("numpy", "numpy.libs"):
        if (site / name).exists():
            (target / name).symlink_to(site / name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def health(port: int, timeout: float = 2.0) -> dict | None:
    """The /health-check document, or None while nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/health-check")
        resp = conn.getresponse()
        body = resp.read()
        return json.loads(body) if resp.status == 200 else None
    except (OSError, ValueError):
        return None
    finally:
        conn.close()


class RunningServer:
    """A started server: its port, cold start time, and a peak-RSS sampler over its tree."""

    def __init__(self, side: Side, scenario: Scenario, project: Path, log: Path) -> None:
        self.side = side
        self.port = free_port()
        self.log = log
        env = dict(os.environ)
        env.pop("COG_NATIVE", None)
        env.update(scenario.env)
        paths = [str(project / NUMPY_DIR)] if scenario.numpy else []
        if side.module.startswith("benchmarks."):
            paths.append(str(REPO))
        if paths:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (*paths, env.get("PYTHONPATH")) if p)
        env.update(
            {
                "COG_PREDICT_TYPE_STUB": "predict.py:Predictor",
                "PORT": str(self.port),
                "COG_OPENAPI_SCHEMA": str(project / ".cog" / "openapi_schema.json"),
                # Workers are started as `python`: it must be this side's interpreter.
                "PATH": f"{side.python.parent}{os.pathsep}{env.get('PATH', '')}",
                "PYTHONUNBUFFERED": "1",
            }
        )
        self._log_file = open(log, "wb")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(side.python), "-m", side.module, "--host", "127.0.0.1"],
            cwd=project,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.rss = PeakRss(self.proc.pid).__enter__()
        try:
            self.cold_start_s = self._wait_ready(started)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, started: float, timeout: float = 120.0) -> float:
        deadline = started + timeout
        state = None
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(
                    f"{self.side.name} exited with {self.proc.returncode} before READY:\n"
                    + self.log_tail()
                )
            doc = health(self.port)
            now = time.perf_counter()
            state = doc.get("status") if doc else None
            if state == "READY":
                return now - started
            if state in ("SETUP_FAILED", "DEFUNCT"):
                raise ServerError(f"{self.side.name} health is {state}:\n" + self.log_tail())
            time.sleep(0.005)
        raise ServerError(
            f"{self.side.name} not READY after {timeout:.0f} s (last status {state}):\n"
            + self.log_tail()
        )

    def log_tail(self, lines: int = 20) -> str:
        self._log_file.flush()
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> int:
        """Stops the whole process group; returns the peak RSS of the tree in bytes."""
        self.rss.__exit__(None, None, None)
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        else:
            try:  # workers left behind by a front that died
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log_file.close()
        return self.rss.peak
