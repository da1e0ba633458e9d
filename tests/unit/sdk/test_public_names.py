"""The names `import cog` offers (spec §1.1), cheap import, and the deprecated shims."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import pytest

import cog
import cog.exceptions
import cog.types

CURRENT = [
    "__version__",
    "BaseRunner",
    "BasePredictor",
    "BaseModel",
    "Opaque",
    "Input",
    "FieldInfo",
    "Path",
    "Secret",
    "File",
    "URLFile",
    "URLPath",
    "ConcatenateIterator",
    "AsyncConcatenateIterator",
    "CancelationException",
    "current_scope",
    "streaming",
    "concurrent",
    "ExperimentalFeatureWarning",
    "emit_metric",
]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


def test_every_public_name_is_exported():
    assert sorted(cog.__all__) == sorted(CURRENT)
    for name in CURRENT:
        assert getattr(cog, name) is not None


def test_version_comes_from_version_module():
    from cog._version import __version__

    assert cog.__version__ == __version__


def test_cancelation_exception_is_a_base_exception():
    assert cog.CancelationException is cog.exceptions.CancelationException
    assert issubclass(cog.CancelationException, BaseException)
    assert not issubclass(cog.CancelationException, Exception)


def test_types_module_has_the_same_types():
    for name in (
        "Path",
        "File",
        "Secret",
        "URLFile",
        "URLPath",
        "ConcatenateIterator",
        "AsyncConcatenateIterator",
    ):
        assert getattr(cog.types, name) is getattr(cog, name)


def test_base_predictor_is_a_base_runner():
    assert issubclass(cog.BasePredictor, cog.BaseRunner)


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="module 'cog' has no attribute 'Nope'"):
        cog.Nope  # noqa: B018


def test_import_is_cheap():
    result = run_python("""
        import sys
        import cog
        heavy = [m for m in ("pydantic", "numpy", "requests", "urllib.request", "cog.loader") if m in sys.modules]
        print(heavy)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_experimental_feature_warning_shim_prints_once_to_stderr():
    result = run_python("""
        import warnings
        warnings.simplefilter("ignore")
        from cog import ExperimentalFeatureWarning
        import cog
        assert cog.ExperimentalFeatureWarning is ExperimentalFeatureWarning
        assert issubclass(ExperimentalFeatureWarning, FutureWarning)
        warnings.filterwarnings("ignore", category=ExperimentalFeatureWarning)
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert result.stderr.count("ExperimentalFeatureWarning is deprecated") == 1


def test_emit_metric_shim_prints_once_and_forwards():
    result = run_python("""
        from cog import emit_metric
        import cog
        from cog.scope import prediction_scope
        with prediction_scope({}) as scope:
            emit_metric("tokens", 3)
            cog.emit_metric("other", 1.5)
        print(scope.metrics.as_dict())
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'tokens': 3, 'other': 1.5}"
    assert result.stderr.count("emit_metric() is deprecated") == 1


def test_no_warnings_on_plain_import():
    result = run_python("""
        import warnings
        warnings.simplefilter("error")
        from cog import BaseRunner, BasePredictor, Input, Path, Secret, File, current_scope
    """)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_star_import_works():
    namespace: dict[str, object] = {}
    with warnings.catch_warnings():
        exec("from cog import *", namespace)  # noqa: S102
    assert namespace["BaseRunner"] is cog.BaseRunner


def test_legacy_names_in_cog_types():
    from cog.types import FieldInfo, Input

    assert Input is cog.Input and FieldInfo is cog.FieldInfo
    with pytest.raises(AttributeError, match="module 'cog.types' has no attribute 'Nope'"):
        cog.types.Nope  # noqa: B018
