"""Answers straight from Cog's raw compatibility JSON, written independently of cog.build.compat,
so the tests check the generator against the matrices rather than against itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[3] / "cog" / "data"


def rows(name: str) -> list[dict[str, Any]]:
    return json.loads((DATA / f"{name}_compatibility.json").read_text())


def _v(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("+")[0].split("."))


def _cuda_prefix(wanted: str, full: str) -> bool:
    return full == wanted or full.startswith(wanted + ".")


def torch_cudas(version: str) -> list[str]:
    """CUDA versions PyTorch `version` is built for, that have an nvidia/cuda image."""
    have = {".".join(r["CUDA"].split(".")[:2]) for r in rows("cuda")}
    found = {
        r["CUDA"]
        for r in rows("torch")
        if r["Torch"].split("+")[0] == version and r["CUDA"] and r["CUDA"] in have
    }
    return sorted(found, key=_v)


def highest_cudnn(cuda: str) -> str:
    return max((r["CuDNN"] for r in rows("cuda") if _cuda_prefix(cuda, r["CUDA"])), key=int)


def cuda_tag(cuda: str, cudnn: str) -> str:
    matching = [r for r in rows("cuda") if _cuda_prefix(cuda, r["CUDA"]) and r["CuDNN"] == cudnn]
    best = max(matching, key=lambda r: (_v(r["CUDA"]), _v(r["Ubuntu"])))
    return str(best["Tag"])


def torch_index(package: str, version: str, cuda: str | None) -> str:
    """The index URL of the matrix row for `package==version` at `cuda` (None: the CPU row)."""
    column = {"torch": "Torch", "torchvision": "Torchvision", "torchaudio": "Torchaudio"}[package]
    candidates = [r for r in rows("torch") if r[column].split("+")[0] == version]
    if cuda is None:
        return str(next(r for r in candidates if r["CUDA"] is None)["ExtraIndexURL"])
    fitting = [r for r in candidates if r["CUDA"] and _v(r["CUDA"]) <= _v(cuda)]
    return str(max(fitting, key=lambda r: _v(r["CUDA"]))["ExtraIndexURL"])


def tensorflow(version: str) -> dict[str, Any]:
    return next(r for r in rows("tf") if r["TF"] == version)
