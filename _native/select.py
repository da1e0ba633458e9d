"""Choose the compiled module or its pure-Python twin, once per process."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

#: Set COG_NATIVE=0 to run the pure-Python twins (for benchmarks and bisecting bugs).
USE_NATIVE = os.environ.get("COG_NATIVE", "1").lower() not in ("0", "false", "no")


def native(name: str, *, pure: bool | None = None) -> ModuleType:
    """Return `cog._native.<name>` (compiled) or `cog._native.pure.<name>` (twin).

    A missing compiled module is an error, not a silent fallback: an install that lost
    its extensions should fail loudly rather than run several times slower.
    """
    use_pure = (not USE_NATIVE) if pure is None else pure
    if use_pure:
        return importlib.import_module(f"cog._native.pure.{name}")
    return importlib.import_module(f"cog._native.{name}")
