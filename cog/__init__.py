"""cogpy: Cog's SDK, build tooling and serving runtime.

Model code imports its public names from here (`from cog import BaseRunner, Input, Path`).
Importing `cog` stays cheap: no pydantic, numpy or requests at import time.
"""

from __future__ import annotations

import sys as _sys
from typing import Any as _Any

from cog._version import __version__
from cog.decorators import concurrent, streaming
from cog.exceptions import CancelationException
from cog.input import FieldInfo, Input
from cog.model import BaseModel
from cog.runner import BasePredictor, BaseRunner
from cog.scope import current_scope
from cog.types import (
    AsyncConcatenateIterator,
    ConcatenateIterator,
    File,
    Opaque,
    Path,
    Secret,
    URLFile,
    URLPath,
)


class _ExperimentalFeatureWarning(FutureWarning):
    """Deprecated: no longer used by Cog; kept so that old imports keep working."""


def __getattr__(name: str) -> _Any:
    # Deprecated names print a one-time note on stderr (not through `warnings`, which
    # models commonly silence) and are then cached as plain module attributes.
    if name == "ExperimentalFeatureWarning":
        print(
            "cog: ExperimentalFeatureWarning is deprecated and will be removed in a future "
            "release. Remove `ExperimentalFeatureWarning` from your imports and any "
            "associated `warnings.filterwarnings(...)` calls.",
            file=_sys.stderr,
        )
        globals()[name] = _ExperimentalFeatureWarning
        return _ExperimentalFeatureWarning
    if name == "emit_metric":
        print(
            "cog: emit_metric() is deprecated and will be removed in a future release. "
            "Use current_scope().record_metric(name, value) instead.",
            file=_sys.stderr,
        )
        from cog.scope import emit_metric

        globals()[name] = emit_metric
        return emit_metric
    raise AttributeError(f"module 'cog' has no attribute {name!r}")


__all__ = [
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
