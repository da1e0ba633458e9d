"""The micro-benchmark compare command: verdicts from pytest-benchmark JSON files."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import compare


def _write(path: Path, stats: dict[str, tuple[float, float]]) -> Path:
    """stats: name -> (min, median) in seconds."""
    path.write_text(
        json.dumps(
            {
                "benchmarks": [
                    {"fullname": name, "stats": {"min": lo, "median": med}}
                    for name, (lo, med) in stats.items()
                ]
            }
        )
    )
    return path


def test_verdicts(tmp_path: Path) -> None:
    base = _write(
        tmp_path / "base.json",
        {
            "slower": (1.0, 1.1),
            "noisy": (1.0, 1.1),
            "faster": (1.0, 1.1),
            "same": (1.0, 1.1),
            "gone": (1, 1),
        },
    )
    cur = _write(
        tmp_path / "cur.json",
        {
            "slower": (1.3, 1.4),  # both min and median grew 30%: a regression
            "noisy": (1.0, 1.6),  # only the median moved: contention, not code
            "faster": (0.5, 0.6),
            "same": (1.02, 1.12),
            "added": (1, 1),
        },
    )
    rows = {
        r["name"]: r["verdict"]
        for r in compare.compare(compare.load(base), compare.load(cur), 0.10)
    }
    assert rows == {
        "slower": "regression",
        "noisy": "same",
        "faster": "improvement",
        "same": "same",
        "gone": "missing",
        "added": "new",
    }


def test_exit_code(tmp_path: Path, capsys) -> None:
    base = _write(tmp_path / "base.json", {"a": (1.0, 1.0)})
    ok = _write(tmp_path / "ok.json", {"a": (1.05, 1.05)})
    bad = _write(tmp_path / "bad.json", {"a": (2.0, 2.0)})
    assert compare.main(["--baseline", str(base), "--current", str(ok)]) == 0
    assert compare.main(["--baseline", str(base), "--current", str(bad)]) == 1
    assert "1 regression(s) beyond noise: a" in capsys.readouterr().out
