"""The same input gets the same verdict from `cog predict --local` and from the HTTP server.

Each case is sent twice: through the CLI's parsing and checking path (`-i` flags or `--json`)
and as `POST /predictions` to a real server of the same model. An input one of them accepts
the other accepts too, with the same coerced value; an input one rejects the other rejects,
naming the same fields. The wording differs by design (the CLI uses Cog's CLI messages,
`invalid input "x": expected integer, got string`; the server Cog's 422 shape), except for
constraints such as bounds, lengths and patterns, where the CLI repeats the server's message.
Unknown keys are the one deliberate difference (the CLI refuses them, the server drops them)
and are tested in test_errors.py.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import cog
from tests.support.server import ServerProcess, running_server

PREDICTOR = """
from typing import Literal, Optional

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(
        self,
        count: int = Input(ge=1, le=10),
        ratio: float = Input(default=0.5, ge=0.0, le=1.0),
        code: str = Input(default="ab12", regex="^[a-z]+[0-9]+$", min_length=2, max_length=8),
        color: str = Input(default="red", choices=["red", "green"]),
        mode: Literal["fast", "slow"] = "fast",
        loud: bool = False,
        sizes: list[int] = Input(default=[1]),
        maybe: Optional[int] = None,
    ) -> dict:
        return {
            "count": count, "ratio": ratio, "code": code, "color": color, "mode": mode,
            "loud": loud, "sizes": sizes, "maybe": maybe,
        }
"""

DEFAULTS = {
    "ratio": 0.5,
    "code": "ab12",
    "color": "red",
    "mode": "fast",
    "loud": False,
    "sizes": [1],
    "maybe": None,
}


def _json(payload: dict[str, Any]) -> tuple[str, ...]:
    return ("--json", json.dumps(payload))


# (CLI flags, the same input as an HTTP body's "input")
ACCEPTED = {
    "flags": (
        ("-i", "count=3", "-i", "ratio=1", "-i", "loud=true", "-i", "sizes=2", "-i", "sizes=3"),
        {"count": 3, "ratio": 1, "loud": True, "sizes": [2, 3]},
    ),
    "json": (
        _json({"count": 10, "code": "zz9", "mode": "slow", "maybe": None, "color": "green"}),
        {"count": 10, "code": "zz9", "mode": "slow", "maybe": None, "color": "green"},
    ),
}

# (CLI flags, HTTP input, fields named, whether the CLI repeats the server's message)
REJECTED = {
    "above_le": (("-i", "count=30"), {"count": 30}, {"count"}, True),
    "below_ge_and_too_short": (
        _json({"count": 0, "code": "a"}),
        {"count": 0, "code": "a"},
        {"count", "code"},
        True,
    ),
    "too_long": (_json({"count": 1, "code": "abcdefgh1"}), None, {"code"}, True),
    "pattern": (("-i", "count=1", "-i", "code=ABC"), {"count": 1, "code": "ABC"}, {"code"}, True),
    "float_above_le": (_json({"count": 1, "ratio": 1.5}), None, {"ratio"}, True),
    "string_for_integer": (_json({"count": "3"}), None, {"count"}, False),
    "unparseable_flag": (("-i", "count=many"), {"count": "many"}, {"count"}, False),
    "fraction_for_integer": (_json({"count": 2.5}), None, {"count"}, False),
    "boolean_for_integer": (_json({"count": True}), None, {"count"}, False),
    "string_for_number": (_json({"count": 1, "ratio": "0.5"}), None, {"ratio"}, False),
    "not_a_boolean": (
        ("-i", "count=1", "-i", "loud=maybe"),
        {"count": 1, "loud": "maybe"},
        {"loud"},
        False,
    ),
    "choices_and_literal": (
        _json({"count": 1, "color": "blue", "mode": "x"}),
        None,
        {"color", "mode"},
        False,
    ),
    "list_item": (_json({"count": 1, "sizes": [1, "a"]}), None, {"sizes"}, False),
    "null_required": (_json({"count": None}), None, {"count"}, False),
    "missing_required": (("-i", "ratio=0.1"), {"ratio": 0.1}, {"count"}, False),
}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("same-errors")
    (root / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\nrun: "predict.py:Predictor"\n'
    )
    (root / "predict.py").write_text(textwrap.dedent(PREDICTOR))
    return root


@pytest.fixture(scope="module")
def server(model: Path) -> Iterator[ServerProcess]:
    with running_server(model) as running:
        yield running


def _post(server: ServerProcess, payload: dict[str, Any]) -> tuple[int, Any]:
    with server.client() as client:
        response = client.post("/predictions", json={"input": payload})
    return response.status_code, response.json()


def _cli_output(stdout: str) -> Any:
    doc = json.loads(stdout)
    # with --json the CLI prints the whole response, with -i only the output
    return doc["output"] if isinstance(doc, dict) and "status" in doc else doc


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_accepted_input_gives_the_same_value(case: str, model: Path, server: ServerProcess) -> None:
    flags, payload = ACCEPTED[case]
    status, body = _post(server, payload)
    assert status == 200, body
    assert body["status"] == "succeeded", body
    result = cog("predict", "--local", *flags, cwd=model)
    assert result.returncode == 0, result.stderr
    assert _cli_output(result.stdout) == body["output"]
    assert body["output"] == {**DEFAULTS, **body["output"]}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_rejected_input_names_the_same_fields(
    case: str, model: Path, server: ServerProcess
) -> None:
    flags, payload, fields, same_message = REJECTED[case]
    if payload is None:
        payload = json.loads(flags[1])
    status, body = _post(server, payload)
    assert status == 422, body
    detail = body["detail"]
    assert {entry["loc"][2] for entry in detail} == fields, detail
    for entry in detail:
        assert entry["loc"][:2] == ["body", "input"] and entry["msg"] and entry["type"], entry

    result = cog("predict", "--local", *flags, cwd=model)
    assert result.returncode == 1, result.stdout
    assert set(re.findall(r'input "([^"]+)"', result.stderr)) == fields, result.stderr
    assert "Traceback" not in result.stderr
    if same_message:
        for entry in detail:
            assert f'invalid input "{entry["loc"][2]}": {entry["msg"]}' in result.stderr


def test_whole_float_for_integer_is_accepted_by_both(model: Path, server: ServerProcess) -> None:
    status, body = _post(server, {"count": 2.0})
    assert status == 200 and body["output"]["count"] == 2, body
    result = cog("predict", "--local", *_json({"count": 2.0}), cwd=model)
    assert result.returncode == 0, result.stderr
    assert _cli_output(result.stdout)["count"] == 2
