"""Messages and exit codes for mistakes, all reported before any container starts."""

from __future__ import annotations

import os

import pytest

from tests.cli.conftest import cog

# No engine: COG_ENGINE=docker without DOCKER_HOST or a Docker socket.
NO_ENGINE = {"COG_ENGINE": "docker", "DOCKER_HOST": ""}


def test_input_errors_come_before_the_engine_is_needed(project) -> None:
    root = project("types")
    cases = {
        (
            "-i",
            "bogus=1",
        ): 'unknown input "bogus"; valid inputs are: number, scale, loud, mode, words, doc',
        ("-i", "scale=2"): 'missing required input "number"',
        ("-i", "number=x"): 'invalid input "number": expected integer, got string',
        ("-i", "number=1", "-i", "mode=max"): 'invalid input "mode": must be one of: sum, list',
        (
            "-i",
            "number=1",
            "-i",
            "loud=maybe",
        ): 'invalid input "loud": expected boolean, got string',
    }
    for flags, message in cases.items():
        result = cog("predict", *flags, cwd=root, env=NO_ENGINE)
        assert result.returncode == 1, flags
        assert message in result.stderr, (flags, result.stderr)
        assert "container engine" not in result.stderr


def test_json_null_for_a_required_input(project) -> None:
    result = cog("predict", "--json", '{"number": null}', cwd=project("types"), env=NO_ENGINE)
    assert result.returncode == 1
    assert (
        'invalid input "number": must not be null (omit the input to use its default)'
        in result.stderr
    )


def test_flag_shape_errors(project) -> None:
    root = project("hello-world")
    result = cog("predict", "text=world", cwd=root)
    assert result.returncode == 1
    assert "Invalid image name 'text=world'. Did you forget -i?" in result.stderr
    result = cog("predict", "--local", "-i", "text", cwd=root)
    assert result.returncode == 1
    assert "Failed to parse input 'text', expected format is 'name=value'" in result.stderr
    result = cog("predict", "--local", "-i", "text=a", "--json", "{}", cwd=root)
    assert result.returncode == 1
    assert "Must use one of --json or --input to provide model inputs" in result.stderr


def test_missing_cog_yaml_says_how_to_start(tmp_path) -> None:
    result = cog("predict", "--local", cwd=tmp_path)
    assert result.returncode == 1
    assert "cog.yaml not found" in result.stderr
    assert "cog init" in result.stderr


def test_broken_cog_yaml_names_the_field(project) -> None:
    root = project("hello-world")
    (root / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\n  gpu: maybe\nrun: "predict.py:Predictor"\n'
    )
    result = cog("predict", "--local", cwd=root)
    assert result.returncode == 1
    assert "gpu" in result.stderr
    (root / "cog.yaml").write_text('build:\n  python_version: "3.11"\nrun: "predict.py"\n')
    result = cog("build", cwd=root, env=NO_ENGINE)
    assert result.returncode == 1
    assert "predict.py:Predictor" in result.stderr or "run.py:Runner" in result.stderr


def test_no_engine_explains_what_to_install(project) -> None:
    if os.path.exists("/var/run/docker.sock"):
        pytest.skip("a Docker daemon socket exists on this machine")
    result = cog("predict", "-i", "text=x", cwd=project("hello-world"), env=NO_ENGINE)
    assert result.returncode == 1
    assert "No container engine is reachable" in result.stderr
    assert "Podman" in result.stderr and "Docker" in result.stderr and "--local" in result.stderr


def test_unreachable_docker_host_is_named(project) -> None:
    result = cog(
        "build", cwd=project("hello-world"), env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    )
    assert result.returncode == 1
    assert "Cannot reach the engine at DOCKER_HOST=unix:///nonexistent/docker.sock" in result.stderr


def test_local_takes_no_image(project) -> None:
    result = cog("predict", "some-image", "--local", cwd=project("hello-world"))
    assert result.returncode == 1
    assert "--local" in result.stderr


def test_version() -> None:
    from cog import __version__

    result = cog("--version", cwd=PROJECT_ROOT)
    assert result.returncode == 0
    assert result.stdout.strip().startswith(f"cog version {__version__}")


def test_init_writes_templates_and_skips_existing_files(tmp_path) -> None:
    (tmp_path / "requirements.txt").write_text("numpy\n")
    result = cog("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "requirements.txt").read_text() == "numpy\n"
    assert "Skipped existing requirements.txt" in result.stderr
    for name in ("cog.yaml", "run.py", ".dockerignore", ".github/workflows/push.yaml"):
        assert (tmp_path / name).is_file(), name
    assert "Done!" in result.stderr
    doctor = cog("doctor", cwd=tmp_path, env={"COG_SKIP_DOCKER_CHECK": "1"})
    assert "run: run.py:Runner loads" in doctor.stderr, doctor.stderr


def test_doctor_explains_problems_and_fails(project) -> None:
    root = project("hello-world")
    (root / "predict.py").write_text(
        "from cog import BasePredictor\n\nclass Other(BasePredictor):\n    pass\n"
    )
    (root / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\npredict: "predict.py:Predictor"\n'
    )
    result = cog("doctor", cwd=root, env={"COG_SKIP_DOCKER_CHECK": "1"})
    assert result.returncode == 1
    assert 'deprecated "predict" key' in result.stderr
    assert 'run: "predict.py:Predictor"' in result.stderr
    assert "Predictor" in result.stderr and "fix:" in result.stderr


PROJECT_ROOT = __import__("pathlib").Path(__file__).parent


def test_debug_prints_the_dockerfile_and_the_weights_split(project) -> None:
    root = project("hello-world")
    result = cog("debug", cwd=root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("#syntax=docker/dockerfile:1.4\nFROM python:3.11-slim\n")
    assert 'ENV COG_PREDICT_TYPE_STUB="predict.py:Runner"' in result.stdout
    (root / "weights").mkdir()
    (root / "weights" / "model.bin").write_bytes(b"\0" * (10 * 1024 * 1024))
    result = cog("debug", "--separate-weights", "--image-name", "me/model:1", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "=== weights Dockerfile (me/model-weights:1) ===\nFROM scratch\n" in result.stdout
    assert "FROM me/model-weights:1 AS weights" in result.stdout
    assert result.stdout.endswith("=== excluded from the runner context ===\nweights\n")


def test_bad_secret_flags_are_explained(project) -> None:
    result = cog("build", "--secret", "src=/nope", cwd=project("hello-world"), env=NO_ENGINE)
    assert result.returncode == 1
    assert "expected id=NAME,src=PATH or id=NAME,env=VARIABLE" in result.stderr


def test_push_without_an_image_name_says_how(project) -> None:
    result = cog("push", cwd=project("hello-world"), env=NO_ENGINE)
    assert result.returncode == 1
    assert "To push images, you must either set the 'image' option in cog.yaml" in result.stderr


def test_debug_carries_the_concurrency_decorator(project) -> None:
    root = project("hello-world")
    (root / "predict.py").write_text(
        "import cog\nfrom cog import BaseRunner\n\n\n"
        "class Runner(BaseRunner):\n"
        "    @cog.concurrent(max=4)\n"
        "    async def run(self, text: str) -> str:\n"
        "        return text\n"
    )
    result = cog("debug", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "ENV COG_MAX_CONCURRENCY=4\n" in result.stdout


def test_a_broken_model_fails_before_anything_starts(project) -> None:
    root = project("hello-world")
    (root / "predict.py").write_text(
        "from cog import BaseRunner\n\n\n"
        "class Runner(BaseRunner):\n"
        "    def run(self, text: object) -> str:\n"
        "        return str(text)\n"
    )
    for args in (("predict", "-i", "text=x"), ("build",)):
        result = cog(*args, cwd=root, env=NO_ENGINE)
        assert result.returncode == 1
        assert "Failed to generate the model's OpenAPI schema" in result.stderr
        assert "text" in result.stderr
        assert "container engine" not in result.stderr
