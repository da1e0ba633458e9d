"""cog.yaml mistakes that only show when a command needs the model (spec §5.1)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import cog

# An engine that cannot be reached: a build that gets as far as the engine says so.
UNREACHABLE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
REACHED_ENGINE = "Cannot reach the engine at DOCKER_HOST=unix:///nonexistent/docker.sock"


def test_an_empty_cog_yaml_is_valid_but_has_nothing_to_build(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text("")
    result = cog("build", cwd=tmp_path, env=UNREACHABLE)
    assert result.returncode == 1, result.stdout
    assert "no predict or train reference found in cog.yaml" in result.stderr
    assert "failed to parse cog.yaml" not in result.stderr
    assert REACHED_ENGINE not in result.stderr  # refused before looking for an engine


def test_a_train_reference_alone_is_something_to_build(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\ntrain: "train.py:train"\n'
    )
    (tmp_path / "train.py").write_text("def train(n: int) -> int:\n    return n\n")
    result = cog("build", cwd=tmp_path, env=UNREACHABLE)
    assert result.returncode == 1, result.stdout
    assert "no predict or train reference" not in result.stderr
    assert REACHED_ENGINE in result.stderr, result.stderr
