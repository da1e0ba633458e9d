"""The built wheel, installed (not editable) into a fresh venv, is a working cogpy.

It builds the wheel once from this checkout (`pip wheel --no-deps`, with its own build
directory so the editable install's CMake cache is left alone), installs it with its
dependencies from the package index into a new venv, and checks from outside the
checkout that the `cog` command runs, `import cog` finds the installed package, every
`cog._native.*` module is the compiled extension, and COG_NATIVE=0 picks the twins.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NATIVE_NAMES = sorted(p.stem for p in (REPO / "_native").glob("*.pyx"))

# Run inside the fresh venv: report where cog and each native module come from.
PROBE = """
import importlib.machinery, json, sys
import cog
from cog._native.select import native
names = sys.argv[1:]
report = {"version": cog.__version__, "cog_file": cog.__file__, "modules": {}}
for name in names:
    module = native(name)
    report["modules"][name] = {
        "name": module.__name__,
        "file": module.__file__,
        "extension": isinstance(module.__loader__, importlib.machinery.ExtensionFileLoader),
    }
print(json.dumps(report))
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COG_NATIVE")}
    env.pop("VIRTUAL_ENV", None)
    env.update(extra)
    return env


def _run(cmd: list[str], cwd: Path, timeout: float, **env: str) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel of this checkout installed; returns its bin directory."""
    root = tmp_path_factory.mktemp("wheel")
    dist, build = root / "dist", root / "build"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(dist),
            f"--config-settings=build-dir={build}",
            str(REPO),
        ],
        cwd=root,
        timeout=600,
    )
    wheels = list(dist.glob("cogpy-*.whl"))
    assert len(wheels) == 1, f"expected one cogpy wheel in {dist}, found {wheels}"
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bin_dir = env_dir / "bin"
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheels[0])], root, 600)
    return bin_dir


def _probe(bin_dir: Path, **env: str) -> dict:
    # cwd is the venv's parent: the checkout's cog/ must not be importable from there.
    out = _run(
        [str(bin_dir / "python"), "-c", PROBE, *NATIVE_NAMES], bin_dir.parent.parent, 120, **env
    )
    return json.loads(out)


def test_native_sources_exist() -> None:
    assert NATIVE_NAMES, f"no _native/*.pyx found under {REPO}"


def test_cog_command_reports_version(installed: Path) -> None:
    out = _run([str(installed / "cog"), "--version"], installed.parent.parent, 120)
    assert "cogpy" in out and out.split()[2]


def test_import_is_the_installed_package(installed: Path) -> None:
    report = _probe(installed)
    site = installed.parent / "lib"
    assert Path(report["cog_file"]).is_relative_to(site), report["cog_file"]
    assert (
        report["version"]
        == _run([sys.executable, "-c", "import cog; print(cog.__version__)"], REPO, 60).strip()
    )


def test_every_native_module_is_compiled(installed: Path) -> None:
    modules = _probe(installed)["modules"]
    for name in NATIVE_NAMES:
        found = modules[name]
        assert found["name"] == f"cog._native.{name}", found
        assert found["extension"], f"cog._native.{name} is not a compiled extension: {found}"
        assert not found["file"].endswith(".py"), found


def test_cog_native_0_picks_the_twins(installed: Path) -> None:
    modules = _probe(installed, COG_NATIVE="0")["modules"]
    for name in NATIVE_NAMES:
        found = modules[name]
        assert found["name"] == f"cog._native.pure.{name}", found
        assert not found["extension"] and found["file"].endswith(f"{name}.py"), found
