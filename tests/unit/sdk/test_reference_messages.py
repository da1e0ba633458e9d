"""Load-time messages compared with the reference Cog's own inspector (cog 0.23.1).

Each class in `fixtures/load_errors.py` breaks one rule; Cog's `cog._inspector` and our
loader must reject it with the same message (or both accept it).
"""

from __future__ import annotations

import ast
import json
import subprocess
import warnings

import pytest

from benchmarks.reference import SERVER_REFERENCE, reference_python
from cog.loader import LoadError, load_runner

from .conftest import FIXTURES

pytestmark = pytest.mark.reference

SOURCE = FIXTURES / "load_errors.py"
CLASSES = [
    node.name for node in ast.parse(SOURCE.read_text()).body if isinstance(node, ast.ClassDef)
]

_REFERENCE_SCRIPT = """
import json, sys, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
from cog._inspector import create_predictor
out = {}
for name in sys.argv[2:]:
    try:
        create_predictor("load_errors", name)
        out[name] = None
    except Exception as exc:
        out[name] = str(exc)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def reference_messages() -> dict[str, str | None]:
    python = reference_python(SERVER_REFERENCE)
    # -I and cwd: the reference must import its own `cog`, not this checkout's.
    result = subprocess.run(
        [str(python), "-I", "-c", _REFERENCE_SCRIPT, str(FIXTURES), *CLASSES],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=FIXTURES,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def our_message(name: str) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            load_runner(f"load_errors.py:{name}", FIXTURES)
        except LoadError as exc:
            return str(exc)
    return None


@pytest.mark.parametrize("name", CLASSES)
def test_same_message_as_cog(reference_messages, name):
    expected = reference_messages[name]
    if expected is not None:
        # Cog's inspector names the class `module.Name` where its loader (and the spec)
        # says `Name`; we follow the spec.
        expected = expected.replace("load_errors.", "")
    assert our_message(name) == expected


def test_every_rule_class_is_rejected(reference_messages):
    rejected = [name for name, message in reference_messages.items() if message is not None]
    assert sorted(rejected) == sorted(c for c in CLASSES if c != "Valid")


FILENAME_URLS = [
    "https://example.com/a/image.png",
    "https://example.com/a/my+file%20name.jpg?sig=1#frag",
    "https://example.com/a%2Fb%00c.txt",
    "https://example.com/" + "n" * 300 + ".safetensors",
    "https://example.com/" + "é" * 150 + ".bin",
    "https://example.com/dir/",
    "data:image/png;base64,AAAA",
    "data:text/plain;charset=utf-8,hi",
    "data:,hi",
    "data:application/x-cog-unknown;base64,AAAA",
    "data:audio/wav;base64,AAAA",
]

_FILENAME_SCRIPT = """
import json, sys
from cog.types import get_filename
print(json.dumps([get_filename(u) for u in sys.argv[1:]]))
"""


def test_download_filenames_match_cog():
    from cog.types import get_filename

    python = reference_python(SERVER_REFERENCE)
    result = subprocess.run(
        [str(python), "-I", "-c", _FILENAME_SCRIPT, *FILENAME_URLS],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=FIXTURES,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    expected = json.loads(result.stdout.strip().splitlines()[-1])
    assert [get_filename(u) for u in FILENAME_URLS] == expected
