"""Figures from raw load results: per-round statistics, medians, ratios and their spread,
goals, and the markdown table."""

from __future__ import annotations

import math
import statistics
from typing import Any

import numpy as np

from benchmarks.load.loadgen import LoadResult
from benchmarks.load.scenarios import Goal
from benchmarks.load.servers import FLOOR, REFERENCE, THIS

#: Round figures compared between the two sides, and whether higher is better.
METRICS = {
    "rps_ok": True,
    "p50_ms": False,
    "p90_ms": False,
    "p99_ms": False,
    "cold_start_s": False,
    "peak_rss_mib": False,
}


def percentile_ms(latencies_us: np.ndarray, q: float) -> float | None:
    if not len(latencies_us):
        return None
    return round(float(np.percentile(latencies_us, q)) / 1000, 3)


def round_stats(
    load: LoadResult, *, round_no: int, cold_start_s: float, peak_rss_bytes: int
) -> dict[str, Any]:
    ok = load.ok_latencies_us
    return {
        "round": round_no,
        "duration_s": round(load.duration_s, 3),
        "requests": len(load.statuses),
        "ok": int(len(ok)),
        "rps_ok": round(len(ok) / load.duration_s, 1),
        "p50_ms": percentile_ms(ok, 50),
        "p90_ms": percentile_ms(ok, 90),
        "p99_ms": percentile_ms(ok, 99),
        "max_ms": percentile_ms(ok, 100),
        "non_2xx": load.non_2xx,
        "socket_errors": load.socket_errors,
        "cold_start_s": round(cold_start_s, 3),
        "peak_rss_mib": round(peak_rss_bytes / 2**20, 1),
        "generator_cpu_share": round(load.generator_cpu_s / load.duration_s, 3),
    }


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def side_summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds; non-2xx and request counts summed."""
    non_2xx: dict[str, int] = {}
    for r in rounds:
        for code, n in r["non_2xx"].items():
            non_2xx[code] = non_2xx.get(code, 0) + n
    summary: dict[str, Any] = {m: _median([r[m] for r in rounds]) for m in METRICS}
    summary["requests"] = sum(r["requests"] for r in rounds)
    summary["ok"] = sum(r["ok"] for r in rounds)
    summary["non_2xx"] = non_2xx
    summary["non_2xx_total"] = sum(non_2xx.values())
    summary["generator_cpu_share"] = _median([r["generator_cpu_share"] for r in rounds])
    return summary


def ratios(this: list[dict[str, Any]], ref: list[dict[str, Any]]) -> dict[str, Any]:
    """this / reference per round (rounds paired by index), with median and spread."""
    out: dict[str, Any] = {}
    for m in METRICS:
        per_round = []
        for a, b in zip(this, ref, strict=False):
            if a[m] is not None and b[m] not in (None, 0):
                per_round.append(round(a[m] / b[m], 3))
        out[m] = (
            {
                "median": round(statistics.median(per_round), 3),
                "min": min(per_round),
                "max": max(per_round),
                "per_round": per_round,
            }
            if per_round
            else None
        )
    return out


def goals(goal: Goal, summary: dict[str, Any]) -> dict[str, Any]:
    """Each goal with the measured value and met / missed / n/a."""
    sides = summary.get("sides", {})
    rat = summary.get("ratios") or {}
    result: dict[str, Any] = {}

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("met" if ok else "missed")

    if goal.min_rps_ratio is not None:
        r = (rat.get("rps_ok") or {}).get("median")
        result["rps_ratio"] = {
            "want": f">= {goal.min_rps_ratio}",
            "got": r,
            "verdict": verdict(None if r is None else r >= goal.min_rps_ratio),
        }
    if goal.max_p99_ratio is not None:
        r = (rat.get("p99_ms") or {}).get("median")
        result["p99_ratio"] = {
            "want": f"<= {goal.max_p99_ratio}",
            "got": r,
            "verdict": verdict(None if r is None else r <= goal.max_p99_ratio),
        }
    if goal.zero_non_2xx:
        this = (sides.get(THIS) or {}).get("summary")
        ref = (sides.get(REFERENCE) or {}).get("summary")
        got = None if this is None else this["non_2xx_total"]
        result["zero_non_2xx"] = {
            "want": "0",
            "got": got,
            "reference": None if ref is None else ref["non_2xx_total"],
            "verdict": verdict(None if got is None else got == 0),
        }
    return result


def floor(scenario: dict[str, Any], key: str, ceilings: list[dict[str, dict]]) -> dict[str, Any]:
    """The front floor of a scenario: granian alone (the constant app awaiting what the model
    awaits) at the same connections, the better of the two measurements, and what ratio to
    the reference it would make: no server on granian can beat that ratio on this machine."""
    rps = max(c[key]["rps"] for c in ceilings)
    ref = (scenario["sides"].get(REFERENCE) or {}).get("summary")
    ref_rps = ref["rps_ok"] if ref else None
    return {
        "point": key,
        "rps": rps,
        "ratio_to_reference": round(rps / ref_rps, 3) if ref_rps else None,
    }


def design_floor(rounds: dict[str, list[dict[str, Any]]], measured: set[str]) -> dict | None:
    """Successful req/s of the design floor against the reference, and of this server
    against the floor (rounds paired by index): what the front's own logic costs."""
    if FLOOR not in measured:
        return None
    return {
        "floor_vs_reference": (
            ratios(rounds[FLOOR], rounds[REFERENCE])["rps_ok"] if REFERENCE in measured else None
        ),
        "this_vs_floor": ratios(rounds[THIS], rounds[FLOOR])["rps_ok"]
        if THIS in measured
        else None,
    }


def _fmt(v: Any, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        v = f"{v:.3g}" if v < 100 else f"{v:.0f}"
    return f"{v}{unit}"


def _fmt_ratio(r: dict[str, Any] | None) -> str:
    if not r:
        return "-"
    return f"{r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})"


def _fmt_codes(codes: dict[str, int]) -> str:
    return ", ".join(f"{n} x {c}" for c, n in codes.items()) if codes else "0"


def markdown(report: dict[str, Any]) -> str:
    """The tables of docs/benchmarks.md."""
    lines = [
        "| scenario | server | ok req/s | p50 ms | p90 ms | p99 ms | non-2xx | cold start s | peak RSS MiB | wrk cores |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for name, sc in report["scenarios"].items():
        for side_name, side in sc["sides"].items():
            if "error" in side:
                lines.append(f"| {name} | {side_name} | not run: {side['error_summary']} |||||||")
                continue
            s = side["summary"]
            lines.append(
                f"| {name} | {side_name} | {_fmt(s['rps_ok'])} | {_fmt(s['p50_ms'])} | "
                f"{_fmt(s['p90_ms'])} | {_fmt(s['p99_ms'])} | {_fmt_codes(s['non_2xx'])} | "
                f"{_fmt(s['cold_start_s'])} | {_fmt(s['peak_rss_mib'])} | "
                f"{_fmt(s['generator_cpu_share'])} |"
            )
    lines += [
        "",
        "Ratios, this / reference: median over paired rounds (min-max).",
        "",
        "| scenario | ok req/s | p50 | p99 | cold start | peak RSS | goals |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, sc in report["scenarios"].items():
        r = sc.get("ratios") or {}
        denominator = sc.get("ratio_denominator")
        if denominator and denominator != REFERENCE:
            name = f"{name} (vs {denominator})"
        g = "; ".join(
            f"{k} {v['want']}: {_fmt(v['got'])} {v['verdict']}" for k, v in sc["goals"].items()
        )
        lines.append(
            f"| {name} | {_fmt_ratio(r.get('rps_ok'))} | {_fmt_ratio(r.get('p50_ms'))} | "
            f"{_fmt_ratio(r.get('p99_ms'))} | {_fmt_ratio(r.get('cold_start_s'))} | "
            f"{_fmt_ratio(r.get('peak_rss_mib'))} | {g or '-'} |"
        )
    lines += [
        "",
        "Floors. Front floor: granian alone (the constant RSGI app, same request and",
        "connections, awaiting what the model awaits), the better of its two measurements;",
        "its ratio to the reference is the best any server on granian could show on this",
        "machine. Design floor: granian and this project's worker pool with no front logic",
        "(benchmarks/load/pool_floor.py), in the same alternating rounds; median (min-max).",
        "",
        "| scenario | front floor req/s | front floor / reference | design floor / reference "
        "| this server / design floor | rps goal |",
        "| --- | ---: | ---: | --- | --- | --- |",
    ]
    for name, sc in report["scenarios"].items():
        f = sc.get("floor")
        if not f:
            continue
        want = (sc["goals"].get("rps_ratio") or {}).get("want", "-")
        ratio = f["ratio_to_reference"]
        d = sc.get("design_floor") or {}
        lines.append(
            f"| {name} | {_fmt(f['rps'])} | {_fmt(ratio, 'x')} | "
            f"{_fmt_ratio(d.get('floor_vs_reference'))} | {_fmt_ratio(d.get('this_vs_floor'))} | "
            f"{want} |"
        )
    lines += ["", "Load generator ceiling (wrk against a constant granian RSGI app, same request):"]
    for when, ceiling in report["load_generator"]["ceiling"].items():
        lines.append(
            f"{when} the scenarios "
            + ", ".join(
                f"{c['rps']:.0f} req/s at {c['concurrency']} connection(s) "
                f"(wrk used {c['generator_cpu_share']:.2f} cores)"
                for c in ceiling.values()
                if not c.get("await_ms")
            )
            + ";"
        )
    load = report["machine"].get("load_avg_1m")
    if load:
        lines.append(
            f"machine load average (1 min) {load['before']:.2f} before, {load['after']:.2f} after."
        )
    return "\n".join(lines) + "\n"
