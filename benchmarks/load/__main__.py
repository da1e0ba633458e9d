"""`python -m benchmarks.load`: this server against the reference Cog, scenario by scenario.

For each scenario and round, each server is started fresh (cold start = process start to
READY on /health-check), warmed up, driven by wrk for a fixed time, and stopped; the two
servers take turns in alternating order (ABBA...) so that drift on a noisy machine falls
on both. Writes report.json, report.md, latency.png and latencies.npz to the results dir.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.load import ceiling, loadgen, plot, report
from benchmarks.load.scenarios import SCENARIOS, Scenario
from benchmarks.load.servers import (
    FLOOR,
    REFERENCE,
    THIS,
    RunningServer,
    ServerError,
    Side,
    prepare_project,
    sides,
)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_RESULTS = REPO / "build" / "benchmarks" / "load"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.load",
        description="Load benchmark: this Cog server against the reference, alternating rounds.",
    )
    p.add_argument("--quick", action="store_true", help="1 round of 1 s, no warm-up (smoke test)")
    p.add_argument("--rounds", type=int, default=5, help="rounds per server per scenario")
    p.add_argument("--duration", type=int, default=5, help="seconds of load per round")
    p.add_argument("--warmup", type=int, default=1, help="seconds of unrecorded load first")
    p.add_argument(
        "--scenario",
        action="append",
        dest="scenarios",
        metavar="NAME",
        help="run only these scenarios (repeatable); default all",
    )
    p.add_argument(
        "--server",
        action="append",
        dest="servers",
        choices=[THIS, REFERENCE],
        help="run only these servers (repeatable); default both",
    )
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first; it adds scenarios with scenarios.register()",
    )
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="output directory")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 1, 0
    for name in ("rounds", "duration"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.warmup < 0:
        p.error(f"--warmup must be 0 or more, got {args.warmup}")
    for module in args.plugin:
        importlib.import_module(module)
    unknown = sorted(set(args.scenarios or []) - set(SCENARIOS))
    if unknown:
        p.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    return args


def scenario_names(requested: list[str], chosen: dict[str, Side]) -> list[str]:
    """The scenarios to run, in order: those with a chosen server to run on, each ratio
    baseline the reference must run first (added when not asked for)."""
    names: list[str] = []
    for name in requested:
        scenario = SCENARIOS[name]
        if not set(scenario.servers) & set(chosen):
            print(f"scenario {name} skipped: it runs only on {', '.join(scenario.servers)}")
            continue
        base = scenario.ratio_baseline
        if base and base not in names and REFERENCE in chosen and REFERENCE not in scenario.servers:
            names.append(base)
        if name not in names:
            names.append(name)
    return names


def revision() -> dict[str, Any]:
    """The commit this project's server ran from, and whether the tree had changes."""

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "--short", "HEAD") or None,
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def run_round(
    side: Side, scenario: Scenario, project: Path, request_file: Path, args, round_no: int
) -> tuple[dict[str, Any], np.ndarray]:
    logs = args.results / "logs"
    server = RunningServer(
        side, scenario, project, logs / f"{scenario.name}-{side.name}-{round_no}.log"
    )
    try:
        url = server.url + "/predictions"
        out = args.results / "raw" / f"{scenario.name}-{side.name}-{round_no}.txt"
        if args.warmup:
            loadgen.run(url, request_file, scenario.concurrency, args.warmup, out, scenario.expect)
        load = loadgen.run(
            url, request_file, scenario.concurrency, args.duration, out, scenario.expect
        )
    finally:
        peak = server.stop()
    stats = report.round_stats(
        load, round_no=round_no, cold_start_s=server.cold_start_s, peak_rss_bytes=peak
    )
    return stats, load.ok_latencies_us


def _summary(error: str) -> str:
    """The error's first line and the last line of the server log it carries."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    text = lines[0].rstrip(":") + (f" ({lines[-1]})" if len(lines) > 1 else "")
    return text.replace("|", "/")[:200]


def run_scenario(
    scenario: Scenario,
    chosen: dict[str, Side],
    args,
    baseline: list[dict] | None = None,
    floor: Side | None = None,
) -> tuple[dict, dict]:
    """Runs the scenario on each chosen server it runs on. `baseline` is the reference's
    rounds of the scenario's ratio baseline, the denominator when the reference is not run.
    `floor`, the design floor, takes its turn in the rounds where the scenario has a
    throughput goal and this server runs."""
    chosen = {n: side for n, side in chosen.items() if n in scenario.servers}
    if floor is not None and THIS in chosen and scenario.goal.min_rps_ratio is not None:
        chosen[FLOOR] = floor
    project = prepare_project(scenario, args.results / "projects")
    request_file = args.results / "requests" / f"{scenario.name}.request"
    loadgen.write_request(scenario.request(), request_file)
    rounds: dict[str, list[dict]] = {name: [] for name in chosen}
    errors: dict[str, str] = {}
    lat: dict[str, list[np.ndarray]] = {name: [] for name in chosen}
    order = list(chosen)
    for r in range(args.rounds):
        # ABBA: the side that went second goes first next round.
        for name in order if r % 2 == 0 else reversed(order):
            if name in errors:
                continue
            print(f"  {scenario.name} round {r + 1}/{args.rounds}: {name}", flush=True)
            try:
                stats, ok = run_round(chosen[name], scenario, project, request_file, args, r)
            except (ServerError, loadgen.LoadGeneratorError) as exc:
                errors[name] = str(exc)
                print(f"    {name} not measured: {str(exc).splitlines()[0]}", flush=True)
                continue
            rounds[name].append(stats)
            lat[name].append(ok)
            print(
                f"    {stats['rps_ok']:.0f} ok req/s, p99 {stats['p99_ms']} ms, "
                f"non-2xx {stats['non_2xx'] or 0}, cold start {stats['cold_start_s']} s",
                flush=True,
            )
    result: dict[str, Any] = {
        "description": scenario.description,
        "concurrency": scenario.concurrency,
        "request_bytes": request_file.stat().st_size,
        "sides": {},
    }
    for name in chosen:
        if name in errors:
            result["sides"][name] = {
                "label": chosen[name].label,
                "error": errors[name],
                "error_summary": _summary(errors[name]),
            }
        else:
            result["sides"][name] = {
                "label": chosen[name].label,
                "rounds": rounds[name],
                "summary": report.side_summary(rounds[name]),
            }
    measured = {n for n in chosen if n not in errors}
    result["ratios"] = result["ratio_denominator"] = None
    if {THIS, REFERENCE} <= measured:
        result["ratios"] = report.ratios(rounds[THIS], rounds[REFERENCE])
        result["ratio_denominator"] = REFERENCE
    elif THIS in measured and REFERENCE not in chosen and baseline:
        result["ratios"] = report.ratios(rounds[THIS], baseline)
        result["ratio_denominator"] = f"{REFERENCE} on {scenario.ratio_baseline}"
    result["goals"] = report.goals(scenario.goal, result)
    result["design_floor"] = report.design_floor(rounds, measured)
    latencies = {name: np.concatenate(v) if v else np.empty(0) for name, v in lat.items()}
    return result, latencies


def _ceiling(points: list[tuple[int, float]], args, when: str) -> dict[str, dict]:
    print(f"load generator ceiling and front floors, {when}", flush=True)
    results = ceiling.measure(points, args.duration, args.results)
    for key, c in results.items():
        print(f"  {key}: {c['rps']:.0f} req/s", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    args.results = args.results.resolve()
    for sub in ("logs", "raw", "requests", "projects"):
        (args.results / sub).mkdir(parents=True, exist_ok=True)
    all_sides = sides()
    chosen = {n: all_sides[n] for n in (args.servers or [THIS, REFERENCE])}
    names = scenario_names(args.scenarios or list(SCENARIOS), chosen)
    if not names:
        print("no scenario runs on the chosen server(s)", file=sys.stderr)
        return 2
    points = sorted(
        {(SCENARIOS[n].concurrency, 0.0) for n in names}
        | {(SCENARIOS[n].concurrency, SCENARIOS[n].model_await_s) for n in names}
    )

    load_before = os.getloadavg()
    ceiling_before = _ceiling(points, args, "before")

    scenarios: dict[str, Any] = {}
    latencies: dict[str, dict[str, np.ndarray]] = {}
    for name in names:
        scenario = SCENARIOS[name]
        print(f"scenario {name}: {scenario.description}", flush=True)
        baseline = scenarios.get(scenario.ratio_baseline or "", {}).get("sides", {})
        scenarios[name], latencies[name] = run_scenario(
            scenario, chosen, args, baseline.get(REFERENCE, {}).get("rounds"), all_sides[FLOOR]
        )
    ceiling_after = _ceiling(points, args, "after")
    for name in names:
        sc = SCENARIOS[name]
        key = ceiling.point_key(sc.concurrency, sc.model_await_s)
        # Only where the model does nothing but wait is the constant app a fair floor.
        scenarios[name]["floor"] = (
            report.floor(scenarios[name], key, [ceiling_before, ceiling_after])
            if sc.goal.min_rps_ratio is not None
            else None
        )

    machine_info = machine()
    # Other work on the machine competes with both servers alike; the load shows how much.
    machine_info["load_avg_1m"] = {"before": load_before[0], "after": os.getloadavg()[0]}

    doc: dict[str, Any] = {
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.load " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine_info,
        "config": {
            "rounds": args.rounds,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "quick": args.quick,
        },
        "servers": {n: s.label for n, s in chosen.items()},
        "revision": revision(),
        "load_generator": {
            "tool": loadgen.wrk_version(),
            "mode": "closed loop, one connection per wrk thread, per-request timing (record.lua)",
            # Measured before and after the scenarios: the machine's load can change between.
            "ceiling": {"before": ceiling_before, "after": ceiling_after},
        },
        "scenarios": scenarios,
        "elapsed_s": None,
        "files": {
            "json": "report.json",
            "markdown": "report.md",
            "plot": "latency.png",
            "latencies": "latencies.npz",
        },
    }
    arrays: dict[str, Any] = {
        f"{sc}/{side}": v.astype(np.float32) for sc, d in latencies.items() for side, v in d.items()
    }
    np.savez_compressed(args.results / "latencies.npz", **arrays)
    plot.latency_png(
        latencies,
        args.results / "latency.png",
        f"Latency of successful requests, cogpy vs cog 0.23.1 ({doc['created_at']})",
    )
    doc["elapsed_s"] = round(time.monotonic() - started, 1)
    md = report.markdown(doc)
    (args.results / "report.md").write_text(md)
    (args.results / "report.json").write_text(json.dumps(doc, indent=2) + "\n")
    print()
    print(md)
    print(f"results in {args.results} ({doc['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
