"""The reference Cog runtimes, each installed from the package index into its own venv.

Tests and benchmarks compare against them: `cog==0.16.12` builds OpenAPI schemas from
code; `cog==0.23.1` + `coglet==0.23.1` is the current (Rust) server.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

SCHEMA_REFERENCE = "0.16.12"
SERVER_REFERENCE = "0.23.1"

_PACKAGES = {
    SCHEMA_REFERENCE: [f"cog=={SCHEMA_REFERENCE}"],
    SERVER_REFERENCE: [f"cog=={SERVER_REFERENCE}", f"coglet=={SERVER_REFERENCE}"],
}


def cache_dir() -> Path:
    """Where reference venvs live; COG_REFERENCE_CACHE overrides."""
    default = Path(__file__).resolve().parent.parent / ".cache" / "reference"
    return Path(os.environ.get("COG_REFERENCE_CACHE", default))


def reference_python(version: str) -> Path:
    """The interpreter of a venv holding reference Cog `version`, created on first use.

    A lock file makes concurrent test workers share one install.
    """
    if version not in _PACKAGES:
        raise ValueError(
            f"no reference install known for cog {version}; known: {sorted(_PACKAGES)}"
        )
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / f"cog-{version}"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    with open(root / f"cog-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            subprocess.run(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    *_PACKAGES[version],
                ],
                check=True,
            )
            marker.write_text(" ".join(_PACKAGES[version]) + "\n")
    return python


if __name__ == "__main__":
    for v in sys.argv[1:] or list(_PACKAGES):
        print(reference_python(v))
