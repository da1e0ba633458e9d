"""The saved micro-benchmark baseline covers every micro benchmark, so that
`python -m benchmarks.compare` can flag a regression in any of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "benchmarks" / "baselines" / "micro.json"
MICRO = ["benchmarks/test_micro.py", "benchmarks/test_native.py"]


def collected() -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *MICRO],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {line for line in proc.stdout.splitlines() if line.startswith("benchmarks/")}


def test_baseline_has_every_micro_benchmark_and_no_stale_one() -> None:
    saved = {b["fullname"] for b in json.loads(BASELINE.read_text())["benchmarks"]}
    ids = collected()
    assert len(ids) > 20, ids
    assert ids - saved == set(), "not in the baseline; run `python -m benchmarks.compare --save`"
    assert saved - ids == set(), "in the baseline but no longer a benchmark"


def test_baseline_keeps_statistics_only() -> None:
    for bench in json.loads(BASELINE.read_text())["benchmarks"]:
        assert "data" not in bench["stats"], bench["fullname"]
        assert bench["stats"]["min"] <= bench["stats"]["median"], bench["fullname"]
