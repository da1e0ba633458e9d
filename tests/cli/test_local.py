"""The --local commands end to end: the real `cog` command starts the real runtime in the
project directory on a loopback port and talks HTTP to it."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import time

import pytest
import requests

from tests.cli.conftest import COG, cog


def test_readme_first_command(project) -> None:
    result = cog("predict", "--local", "-i", "text=world", cwd=project("hello-world"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello world\n"


def test_run_is_the_same_command_and_quotes_are_stripped(project) -> None:
    result = cog("run", "--local", "-i", 'text="big world"', cwd=project("hello-world"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello big world\n"


def test_inputs_are_coerced_by_the_schema(project, tmp_path) -> None:
    doc = tmp_path / "note.txt"
    doc.write_text("file body")
    result = cog(
        "predict", "--local",
        "-i", "number=42", "-i", "scale=2", "-i", "loud=true", "-i", "mode=list",
        "-i", "words=a", "-i", "words=b", "-i", f"doc=@{doc}", "-e", "EXTRA=from-flag",
        cwd=project("types"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "number": 42,
        "scale": 2.0,
        "loud": True,
        "mode": "list",
        "words": ["a", "b"],
        "doc": "file body",
        "greeting": "hej",
        "extra": "from-flag",
    }
    assert result.stdout.startswith("{\n  ")


def test_file_output_is_written_with_its_extension(project) -> None:
    root = project("file")
    result = cog("predict", "--local", "-i", "text=saved", cwd=root)
    assert result.returncode == 0, result.stderr
    assert (root / "output.txt").read_text() == "saved"
    assert "Written output to: output.txt" in result.stderr


def test_file_list_output_and_output_flag(project) -> None:
    root = project("files")
    result = cog("predict", "--local", "-i", "text=x", "-i", "count=2", cwd=root)
    assert result.returncode == 0, result.stderr
    assert (root / "output.0.txt").read_text() == "x 0"
    assert (root / "output.1.txt").read_text() == "x 1"
    result = cog("predict", "--local", "-i", "text=y", "-i", "count=1", "-o", "run.txt", cwd=root)
    assert result.returncode == 0, result.stderr
    assert (root / "run.0.txt").read_text() == "y 0"


def test_output_flag_directory(project) -> None:
    root = project("file")
    (root / "out").mkdir()
    result = cog("predict", "--local", "-i", "text=y", "-o", "out", cwd=root)
    assert result.returncode == 0, result.stderr
    assert (root / "out" / "output.txt").read_text() == "y"


def test_no_output_is_a_warning_and_exit_zero(project) -> None:
    result = cog("predict", "--local", cwd=project("nothing"))
    assert result.returncode == 0, result.stderr
    assert "No output generated" in result.stderr
    assert result.stdout == ""


def test_failed_prediction_exits_one_with_the_error(project) -> None:
    result = cog("predict", "--local", cwd=project("failing"))
    assert result.returncode == 1
    assert 'Prediction failed with status "failed"' in result.stderr
    assert "broken on purpose" in result.stderr


def test_json_mode_prints_the_response_and_fails_with_exit_one(project) -> None:
    root = project("file")
    result = cog("predict", "--local", "--json", '{"text": "js"}', cwd=root)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "succeeded"
    assert summary["output"] == "output.txt"
    assert "predict_time" in summary["metrics"]
    assert (root / "output.txt").read_text() == "js"
    failed = cog("predict", "--local", "--json", "-", cwd=project("failing"), stdin="{}")
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["status"] == "failed"


def test_json_at_values_are_files(project, tmp_path) -> None:
    note = tmp_path / "n.txt"
    note.write_text("via json")
    result = cog(
        "predict", "--local", "--json", json.dumps({"number": 1, "doc": f"@{note}"}),
        cwd=project("types"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["output"]["doc"] == "via json"


def test_setup_failure_is_reported(project) -> None:
    result = cog("predict", "--local", cwd=project("setup_fails"))
    assert result.returncode == 1
    assert "Model setup failed" in result.stderr
    assert "weights are missing" in result.stderr


def test_train_local_writes_its_output_to_weights(project) -> None:
    root = project("train")
    result = cog("train", "--local", "-i", "steps=4", cwd=root)
    assert result.returncode == 0, result.stderr
    assert json.loads((root / "weights").read_text()) == {"steps": 4, "rate": 0.5, "loss": 0.25}
    result = cog("train", "--local", "-i", "steps=two", cwd=root)
    assert result.returncode == 1
    assert 'invalid input "steps": expected integer, got string' in result.stderr


def test_exec_local_runs_in_the_project_with_its_environment(project) -> None:
    root = project("types")
    result = cog(
        "exec", "--local", "-e", "EXTRA=1", "python", "-c",
        "import os, sys; print(os.getcwd(), os.environ['GREETING'], os.environ['EXTRA']); sys.exit(3)",
        cwd=root,
    )  # fmt: skip
    assert result.returncode == 3
    assert result.stdout.split() == [str(root), "hej", "1"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# A process started in the background of a non-interactive shell inherits SIGINT ignored;
# `kill -INT` must stop the server all the same.
@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["default", "inherited-ignored"])
def test_serve_local_answers_http_and_exits_cleanly_on_ctrl_c(project, sigint_ignored) -> None:
    port = _free_port()
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.Popen(
        [COG, "serve", "--local", "-p", str(port)],
        cwd=project("hello-world"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint if sigint_ignored else None,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            try:
                status = requests.get(f"{base}/health-check", timeout=2).json()["status"]
                if status == "READY":
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        assert status == "READY"
        reply = requests.post(f"{base}/predictions", json={"input": {"text": "http"}}, timeout=30)
        assert reply.status_code == 200
        assert reply.json()["output"] == "hello http"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"Serving at http://localhost:{port}" in err


def test_data_url_output_has_no_base64_in_stdout(project) -> None:
    root = project("file")
    result = cog("predict", "--local", "-i", "text=z", "-o", "named.txt", cwd=root)
    assert result.returncode == 0, result.stderr
    assert (root / "named.txt").read_bytes() == b"z"
    assert base64.b64encode(b"z").decode() not in result.stdout
