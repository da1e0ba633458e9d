"""The load benchmark runs end to end in --quick mode and writes a complete report.

Asserts the report's structure, never its figures: timings belong to the benchmark.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
ROUND_KEYS = {
    "round",
    "duration_s",
    "requests",
    "ok",
    "rps_ok",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "non_2xx",
    "socket_errors",
    "cold_start_s",
    "peak_rss_mib",
    "generator_cpu_share",
}
SUMMARY_KEYS = {
    "rps_ok",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "cold_start_s",
    "peak_rss_mib",
    "requests",
    "ok",
    "non_2xx",
    "non_2xx_total",
    "generator_cpu_share",
}
SCENARIOS = {
    "null-c1",
    "async-c32",
    "stream-sse",
    "file-4mib",
    "array-4mib-json",
    "array-4mib-msgpack",
}
#: Scenarios the reference cannot take, and the scenario whose reference rounds stand in.
THIS_ONLY = {"array-4mib-msgpack": "array-4mib-json"}
#: Scenarios with a throughput goal: the front and design floors are measured for them.
RPS_GOALS = {"null-c1", "async-c32"}

pytestmark = [
    pytest.mark.reference,
    pytest.mark.skipif(
        shutil.which("wrk") is None, reason="wrk not installed (apt-get install wrk)"
    ),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("matplotlib", reason="matplotlib (benchmark-only dependency) not installed")
    out = tmp_path_factory.mktemp("load")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.load", "--quick", "--results", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_report_json_structure(results: Path) -> None:
    doc = json.loads((results / "report.json").read_text())
    assert doc["config"] == {"rounds": 1, "duration_s": 1, "warmup_s": 0, "quick": True}
    assert set(doc["machine"]) == {
        "cpu",
        "cores",
        "memory_gib",
        "kernel",
        "python",
        "load_avg_1m",
    }
    assert doc["load_generator"]["tool"].startswith("wrk")
    assert set(doc["load_generator"]["ceiling"]) == {"before", "after"}
    for ceiling in doc["load_generator"]["ceiling"].values():
        # the generator's ceilings, and async-c32's front floor (the app awaits 5 ms too)
        assert set(ceiling) == {"1", "32", "32+5ms"}
        for c in ceiling.values():
            assert set(c) == {"concurrency", "await_ms", "rps", "p50_ms", "generator_cpu_share"}
            assert c["rps"] > 0
        assert ceiling["32+5ms"]["await_ms"] == 5 and ceiling["32"]["await_ms"] == 0
    assert set(doc["servers"]) == {"cogpy", "reference"}
    assert set(doc["revision"]) == {"commit", "dirty"}
    assert set(doc["scenarios"]) == SCENARIOS
    for name, sc in doc["scenarios"].items():
        assert set(sc) == {
            "description",
            "concurrency",
            "request_bytes",
            "sides",
            "ratios",
            "ratio_denominator",
            "goals",
            "floor",
            "design_floor",
        }
        if name in RPS_GOALS:
            assert "rps_ratio" in sc["goals"], name
            front = sc["floor"]
            assert front["rps"] > 0 and front["ratio_to_reference"] > 0, name
            assert front["point"] == ("32+5ms" if name == "async-c32" else "1"), name
            design = sc["design_floor"]
            assert design["floor_vs_reference"]["median"] > 0, name
            assert design["this_vs_floor"]["median"] > 0, name
            assert "error" not in sc["sides"]["floor"], sc["sides"]["floor"].get("error")
        else:
            assert "rps_ratio" not in sc["goals"], name
            assert sc["floor"] is None and sc["design_floor"] is None, name
        # the design floor takes its turn where there is a throughput goal
        floor = {"floor"} if name in RPS_GOALS else set()
        if name in THIS_ONLY:
            assert set(sc["sides"]) == {"cogpy"} | floor, name
        else:
            assert set(sc["sides"]) == {"cogpy", "reference"} | floor, name
            # The reference is installed and must always be measured.
            ref = sc["sides"]["reference"]
            assert "error" not in ref, ref.get("error")
        for side in sc["sides"].values():
            if "error" in side:
                assert side["error_summary"]
                continue
            assert len(side["rounds"]) == 1
            assert set(side["rounds"][0]) == ROUND_KEYS
            assert set(side["summary"]) == SUMMARY_KEYS
            assert side["summary"]["requests"] > 0
            assert side["summary"]["cold_start_s"] > 0
            assert side["summary"]["peak_rss_mib"] > 0
        if "error" in sc["sides"]["cogpy"]:
            assert sc["ratios"] is None and sc["ratio_denominator"] is None
        else:
            want = f"reference on {THIS_ONLY[name]}" if name in THIS_ONLY else "reference"
            assert sc["ratio_denominator"] == want, name
            assert set(sc["ratios"]) == {
                "rps_ok",
                "p50_ms",
                "p90_ms",
                "p99_ms",
                "cold_start_s",
                "peak_rss_mib",
            }
        for goal in sc["goals"].values():
            assert goal["verdict"] in {"met", "missed", "n/a"}
    assert set(doc["scenarios"]["null-c1"]["goals"]) == {"rps_ratio", "p99_ratio", "zero_non_2xx"}


def test_markdown_table(results: Path) -> None:
    md = (results / "report.md").read_text()
    assert md.startswith("| scenario | server | ok req/s |")
    for name in SCENARIOS:
        assert f"| {name} | cogpy |" in md
        assert (f"| {name} | reference |" in md) == (name not in THIS_ONLY)
    for name, baseline in THIS_ONLY.items():
        assert f"| {name} (vs reference on {baseline}) |" in md
    assert "Load generator ceiling" in md
    floors = md.split("Front floor")[1]
    for name in RPS_GOALS:
        assert f"| {name} | floor |" in md
        assert f"| {name} | " in floors


def test_plot_and_raw_latencies(results: Path) -> None:
    assert (results / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with np.load(results / "latencies.npz") as raw:
        both = SCENARIOS - set(THIS_ONLY)
        assert {f"{s}/reference" for s in both} <= set(raw.files)
        assert all(len(raw[f"{s}/reference"]) > 0 for s in both)


def test_plugin_scenario(tmp_path: Path) -> None:
    """--plugin imports a module whose scenarios then run like the built-in ones."""
    pytest.importorskip("matplotlib", reason="matplotlib (benchmark-only dependency) not installed")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.load",
            "--quick",
            "--plugin",
            "tests.benchmarks.plugin_scenario",
            "--scenario",
            "plugin-null",
            "--server",
            "reference",
            "--results",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((tmp_path / "report.json").read_text())
    assert list(doc["scenarios"]) == ["plugin-null"]
    sc = doc["scenarios"]["plugin-null"]
    assert sc["concurrency"] == 2
    assert list(sc["sides"]) == ["reference"]
    assert sc["sides"]["reference"]["summary"]["requests"] > 0
    assert sc["ratios"] is None and sc["goals"] == {}
    assert set(doc["load_generator"]["ceiling"]["before"]) == {"2"}


def test_unknown_scenario_is_a_clear_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.load", "--scenario", "nope"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert (
        "unknown scenario(s) nope; known: null-c1, async-c32, stream-sse, file-4mib, "
        "array-4mib-json, array-4mib-msgpack" in proc.stderr
    )


def test_this_only_scenario_brings_its_baseline(tmp_path: Path) -> None:
    """Asked alone, a scenario the reference cannot take runs after its baseline, whose
    reference rounds are its ratios' denominator; with only this server, it runs alone."""
    pytest.importorskip("matplotlib", reason="matplotlib (benchmark-only dependency) not installed")

    def run(*args: str) -> dict:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.load", "--quick", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return json.loads((Path(args[-1]) / "report.json").read_text())

    doc = run("--scenario", "array-4mib-msgpack", "--results", str(tmp_path / "both"))
    assert list(doc["scenarios"]) == ["array-4mib-json", "array-4mib-msgpack"]
    sc = doc["scenarios"]["array-4mib-msgpack"]
    assert sc["ratio_denominator"] == "reference on array-4mib-json"
    ref_rounds = doc["scenarios"]["array-4mib-json"]["sides"]["reference"]["rounds"]
    this_rounds = sc["sides"]["cogpy"]["rounds"]
    assert sc["ratios"]["rps_ok"]["per_round"] == [
        round(this_rounds[0]["rps_ok"] / ref_rounds[0]["rps_ok"], 3)
    ]

    doc = run(
        "--scenario",
        "array-4mib-msgpack",
        "--server",
        "cogpy",
        "--results",
        str(tmp_path / "this"),
    )
    assert list(doc["scenarios"]) == ["array-4mib-msgpack"]
    assert doc["scenarios"]["array-4mib-msgpack"]["ratios"] is None
