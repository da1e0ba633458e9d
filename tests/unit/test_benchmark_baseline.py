"""The saved micro-benchmark baseline covers every micro benchmark, so that
`python -m benchmarks.compare` can flag a regression in any of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BASELINES = REPO / "benchmarks" / "baselines"
# each micro-benchmark file and the baseline `python -m benchmarks.compare` checks it against
FILES = {"benchmarks/test_micro.py": "micro.json", "benchmarks/test_native.py": "native.json"}


def collected(path: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", path],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {line for line in proc.stdout.splitlines() if line.startswith("benchmarks/")}


@pytest.mark.parametrize("path", sorted(FILES))
def test_baseline_has_every_micro_benchmark_and_no_stale_one(path: str) -> None:
    saved = {b["fullname"] for b in json.loads((BASELINES / FILES[path]).read_text())["benchmarks"]}
    ids = collected(path)
    assert len(ids) > 10, ids
    assert ids - saved == set(), "not in the baseline; run `python -m benchmarks.compare --save`"
    assert saved - ids == set(), "in the baseline but no longer a benchmark"


@pytest.mark.parametrize("baseline", sorted(FILES.values()))
def test_baseline_keeps_statistics_only(baseline: str) -> None:
    for bench in json.loads((BASELINES / baseline).read_text())["benchmarks"]:
        assert "data" not in bench["stats"], bench["fullname"]
        assert bench["stats"]["min"] <= bench["stats"]["median"], bench["fullname"]
