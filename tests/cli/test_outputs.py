"""What the CLI prints or writes for a finished prediction, and its exit code."""

from __future__ import annotations

import base64
import io
import json

import pytest

from cog.cli.errors import CLIError
from cog.cli.outputs import PredictionFailed, handle_response
from tests.cli.schemas import document

URI = {"type": "string", "format": "uri"}
PNG = "data:image/png;base64," + base64.b64encode(b"png-bytes").decode()
TXT = "data:text/plain;base64," + base64.b64encode(b"text-bytes").decode()


def _run(response, output_schema=None, **kwargs):
    out, err = io.StringIO(), io.StringIO()
    doc = document({}, output=output_schema) if output_schema is not None else None
    code = handle_response(response, doc, stdout=out, stderr=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


def test_string_output_is_printed_raw() -> None:
    assert _run({"status": "succeeded", "output": "hello\nworld"}, {"type": "string"}) == (
        0,
        "hello\nworld\n",
        "",
    )


def test_other_outputs_are_pretty_json() -> None:
    code, out, _ = _run({"status": "succeeded", "output": {"a": [1, 2]}}, {"type": "object"})
    assert code == 0
    assert out == json.dumps({"a": [1, 2]}, indent=2) + "\n"


def test_no_output_is_a_warning_with_exit_zero() -> None:
    assert _run({"status": "succeeded", "output": None}, {"type": "string"}) == (
        0,
        "",
        "No output generated\n",
    )


def test_failed_prediction_raises_with_status_and_error() -> None:
    with pytest.raises(PredictionFailed, match='Prediction failed with status "failed": boom'):
        _run({"status": "failed", "error": "boom", "output": None}, {"type": "string"})


def test_file_output_is_written_to_output_with_extension(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _run({"status": "succeeded", "output": PNG}, URI)
    assert code == 0 and out == ""
    assert (tmp_path / "output.png").read_bytes() == b"png-bytes"
    assert err == "Written output to: output.png\n"


def test_file_list_is_written_as_indexed_files(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _run({"status": "succeeded", "output": [PNG, TXT]}, {"type": "array", "items": URI})
    assert (tmp_path / "output.0.png").read_bytes() == b"png-bytes"
    assert (tmp_path / "output.1.txt").read_bytes() == b"text-bytes"


def test_output_flag_file_directory_and_indexed_stem(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _run({"status": "succeeded", "output": PNG}, URI, output_path="mine.png")
    assert (tmp_path / "mine.png").read_bytes() == b"png-bytes"
    (tmp_path / "outdir").mkdir()
    _run({"status": "succeeded", "output": PNG}, URI, output_path="outdir")
    assert (tmp_path / "outdir" / "output.png").read_bytes() == b"png-bytes"
    _run(
        {"status": "succeeded", "output": [PNG, PNG]},
        {"type": "array", "items": URI},
        output_path="frames.jpg",
    )
    assert (tmp_path / "frames.0.jpg").exists() and (tmp_path / "frames.1.jpg").exists()


def test_default_name_colliding_with_a_directory_is_an_error(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "output").mkdir()
    with pytest.raises(CLIError, match='Default output name "output" conflicts with directory'):
        _run({"status": "succeeded", "output": PNG}, URI)


def test_string_output_can_go_to_a_file(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(
        {"status": "succeeded", "output": "hi"}, {"type": "string"}, output_path="o.txt"
    )
    assert code == 0 and out == ""
    assert (tmp_path / "o.txt").read_text() == "hi\n"


def test_legacy_unknown_mime_and_no_schema_still_write_files(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _run({"status": "succeeded", "output": "data:None;base64,AAE="})
    assert (tmp_path / "output").read_bytes() == b"\x00\x01"


def test_json_mode_prints_the_summary_and_writes_files(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    response = {
        "status": "succeeded",
        "output": PNG,
        "error": None,
        "metrics": {"predict_time": 0.1},
        "logs": "x",
    }
    code, out, _ = _run(response, URI, json_mode=True)
    assert code == 0
    assert json.loads(out) == {
        "status": "succeeded",
        "output": "output.png",
        "error": None,
        "metrics": {"predict_time": 0.1},
    }
    assert (tmp_path / "output.png").read_bytes() == b"png-bytes"


def test_json_mode_failure_exits_one_and_can_write_to_a_file(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(
        {"status": "failed", "output": None, "error": "bad"},
        URI,
        json_mode=True,
        output_path="r.json",
    )
    assert code == 1 and out == ""
    assert json.loads((tmp_path / "r.json").read_text())["error"] == "bad"
