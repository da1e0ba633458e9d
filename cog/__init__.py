"""cogpy: Cog's SDK, build tooling and serving runtime.

Model code imports its public names from here (`from cog import BaseRunner, Input, Path`).
Importing `cog` stays cheap: no pydantic, numpy or requests at import time.
"""

from __future__ import annotations

import importlib as _importlib
import sys as _sys
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from cog._version import __version__

if _TYPE_CHECKING:
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

#: Each public name and the module defining it, imported at first use: the server's front
#: process imports `cog` for its runtime and never needs the SDK (~40 ms of start-up).
_PUBLIC = {
    "concurrent": "cog.decorators",
    "streaming": "cog.decorators",
    "CancelationException": "cog.exceptions",
    "FieldInfo": "cog.input",
    "Input": "cog.input",
    "BaseModel": "cog.model",
    "BasePredictor": "cog.runner",
    "BaseRunner": "cog.runner",
    "current_scope": "cog.scope",
    "AsyncConcatenateIterator": "cog.types",
    "ConcatenateIterator": "cog.types",
    "File": "cog.types",
    "Opaque": "cog.types",
    "Path": "cog.types",
    "Secret": "cog.types",
    "URLFile": "cog.types",
    "URLPath": "cog.types",
}
#: Submodules that importing `cog` used to load, still reachable as attributes of `cog`.
_SUBMODULES = frozenset(
    {"coder", "decorators", "exceptions", "input", "model", "runner", "scope", "types"}
)


class _ExperimentalFeatureWarning(FutureWarning):
    """Deprecated: no longer used by Cog; kept so that old imports keep working."""


def __getattr__(name: str) -> _Any:
    module = _PUBLIC.get(name)
    if module is not None:
        value = getattr(_importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return _importlib.import_module(f"cog.{name}")
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


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


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
