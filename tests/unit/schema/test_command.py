"""`python -m cog.command.openapi_schema` in a project directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "predictors"


def run_command(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cog.command.openapi_schema"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_prints_the_projects_schema() -> None:
    proc = run_command(FIXTURES / "train_class")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["components"]["schemas"]["TrainingInput"]["required"] == ["data"]
    assert doc["components"]["schemas"]["Input"]["properties"]["text"]["default"] == "x"


def test_run_spelling_and_model_prints_stay_off_stdout(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text('build:\n  python_version: "3.11"\nrun: "run.py:Runner"\n')
    (tmp_path / "run.py").write_text(
        "from cog import BaseRunner\n\nprint('loading the model module')\n\n\n"
        "class Runner(BaseRunner):\n    def run(self, x: int) -> int:\n        return x\n"
    )
    proc = run_command(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["components"]["schemas"]["Input"]["required"] == ["x"]
    assert "loading the model module" in proc.stderr


def test_without_cog_yaml(tmp_path: Path) -> None:
    proc = run_command(tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "cog.yaml not found" in proc.stderr


def test_broken_model_is_reported(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text('build:\n  python_version: "3.11"\nrun: "run.py:Runner"\n')
    (tmp_path / "run.py").write_text(
        "class Runner:\n    def run(self, x) -> int:\n        return 1\n"
    )
    proc = run_command(tmp_path)
    assert proc.returncode == 1
    assert "cannot build the OpenAPI schema" in proc.stderr
    assert "missing type annotation for input: x" in proc.stderr
