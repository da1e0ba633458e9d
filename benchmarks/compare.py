"""`python -m benchmarks.compare`: run the micro benchmarks and flag regressions beyond noise.

A benchmark regressed when both its minimum and its median time grew by more than the
tolerance. On a noisy shared machine, other processes only ever add time: they move the
median of a run (often by more than 10%) but rarely its minimum, while code that got
slower moves both. Improvements are flagged the same way, the other side.

    python -m benchmarks.compare            # run, compare with the baseline, exit 1 on regression
    python -m benchmarks.compare --save     # run and make this run the baseline
    python -m benchmarks.compare --current run.json   # compare a saved run, without running
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_BASELINE = HERE / "baselines" / "micro.json"
DEFAULT_TESTS = ["benchmarks/test_micro.py"]


def run_benchmarks(tests: list[str], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *tests,
        "--benchmark-only",
        f"--benchmark-json={out}",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    proc = subprocess.run(cmd, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"benchmarks failed (pytest exit {proc.returncode}): {' '.join(cmd)}")


def strip_samples(path: Path) -> None:
    """Keep a baseline's statistics and drop its raw samples (megabytes, never compared)."""
    doc = json.loads(path.read_text())
    for bench in doc["benchmarks"]:
        bench["stats"].pop("data", None)
    path.write_text(json.dumps(doc, indent=1) + "\n")


def load(path: Path) -> dict[str, dict[str, Any]]:
    """fullname -> stats of a pytest-benchmark JSON file."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise SystemExit(
            f"no benchmark results at {path}; save a baseline with `python -m benchmarks.compare --save`"
        ) from None
    return {b["fullname"]: b["stats"] for b in doc["benchmarks"]}


def compare(
    baseline: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]], tolerance: float
) -> list[dict[str, Any]]:
    """One row per benchmark: verdict regression / improvement / same / new / missing."""
    rows = []
    for name in sorted(set(baseline) | set(current)):
        base, cur = baseline.get(name), current.get(name)
        if base is None or cur is None:
            rows.append({"name": name, "verdict": "new" if base is None else "missing"})
            continue
        ratio = cur["median"] / base["median"]
        min_ratio = cur["min"] / base["min"]
        if min(ratio, min_ratio) > 1 + tolerance:
            verdict = "regression"
        elif max(ratio, min_ratio) < 1 / (1 + tolerance):
            verdict = "improvement"
        else:
            verdict = "same"
        rows.append(
            {
                "name": name,
                "verdict": verdict,
                "ratio": ratio,
                "min_ratio": min_ratio,
                "baseline_median_us": base["median"] * 1e6,
                "current_median_us": cur["median"] * 1e6,
            }
        )
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{'benchmark':<60} {'baseline':>12} {'current':>12} {'ratio':>7} {'min':>7}  verdict",
        f"{'':<60} {'median':>12} {'median':>12}",
    ]
    for r in rows:
        if "ratio" in r:
            lines.append(
                f"{r['name']:<60} {r['baseline_median_us']:>10.2f}us {r['current_median_us']:>10.2f}us "
                f"{r['ratio']:>6.2f}x {r['min_ratio']:>6.2f}x  {r['verdict']}"
            )
        else:
            lines.append(f"{r['name']:<60} {'':>12} {'':>12} {'':>7} {'':>7}  {r['verdict']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.compare", description=__doc__.split("\n")[0]
    )
    p.add_argument("--baseline", type=Path, default=DEFAULT_BASELINE)
    p.add_argument(
        "--current", type=Path, help="a pytest-benchmark JSON to compare (skips running)"
    )
    p.add_argument("--save", action="store_true", help="run and store the result as the baseline")
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.10,
        help="relative growth of the median beyond which a change counts (default 0.10)",
    )
    p.add_argument("tests", nargs="*", default=DEFAULT_TESTS, help="benchmark files to run")
    args = p.parse_args(argv)
    if args.tolerance < 0:
        p.error(f"--tolerance must be 0 or more, got {args.tolerance}")
    if args.save:
        if args.current:
            p.error("--save runs the benchmarks; it cannot be combined with --current")
        run_benchmarks(args.tests, args.baseline)
        strip_samples(args.baseline)
        print(f"baseline saved to {args.baseline}")
        return 0
    current_path = args.current
    if current_path is None:
        current_path = REPO / "build" / "benchmarks" / "micro-current.json"
        run_benchmarks(args.tests, current_path)
    rows = compare(load(args.baseline), load(current_path), args.tolerance)
    print(render(rows))
    regressions = [r["name"] for r in rows if r["verdict"] == "regression"]
    if regressions:
        print(f"\n{len(regressions)} regression(s) beyond noise: {', '.join(regressions)}")
        return 1
    print("\nno regression beyond noise")
    return 0


if __name__ == "__main__":
    sys.exit(main())
