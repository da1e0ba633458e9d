"""Cog's compatibility matrices (spec §6.2): CUDA base images, PyTorch and TensorFlow builds.

The JSON files in `cog/data/` are copies of Cog's `pkg/config/*.json` (generated upstream by
`tools/compatgen`); this module loads them once into typed rows and answers the questions
the build asks of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


def version_tuple(version: str) -> tuple[int, ...]:
    """`12.1.1` -> (12, 1, 1); a local suffix (`+cu118`) is ignored."""
    return tuple(int(part) for part in version.split("+", 1)[0].split("."))


def major_minor(version: str) -> str:
    """`12.1.1` -> `12.1`."""
    return ".".join(version.split(".")[:2])


def strip_local(version: str) -> str:
    """`2.1.0+cu118` -> `2.1.0`."""
    return version.split("+", 1)[0]


@dataclass(frozen=True)
class CudaImage:
    """One `nvidia/cuda` devel tag with cuDNN."""

    tag: str
    cuda: str  # full version, e.g. 12.1.1
    cudnn: str  # major, e.g. 8
    ubuntu: str

    @property
    def image(self) -> str:
        return f"nvidia/cuda:{self.tag}"


@dataclass(frozen=True)
class TorchBuild:
    """One PyTorch release for one CUDA variant (or CPU)."""

    torch: str  # with local version, e.g. 2.1.0+cu118
    torchvision: str
    torchaudio: str
    find_links: str
    extra_index_url: str
    cuda: str | None  # major.minor, None for CPU builds
    pythons: tuple[str, ...]


@dataclass(frozen=True)
class TensorflowBuild:
    """One TensorFlow release and the CUDA/cuDNN it was tested with."""

    tf: str
    cpu_package: str
    gpu_package: str
    cuda: str  # major.minor
    cudnn: str  # major
    pythons: tuple[str, ...]


def _load(name: str) -> list[dict[str, Any]]:
    text = resources.files("cog").joinpath(f"data/{name}").read_text()
    rows: list[dict[str, Any]] = json.loads(text)
    return rows


@cache
def cuda_images() -> tuple[CudaImage, ...]:
    return tuple(
        CudaImage(tag=r["Tag"], cuda=r["CUDA"], cudnn=r["CuDNN"], ubuntu=r["Ubuntu"])
        for r in _load("cuda_compatibility.json")
        if r["IsDevel"]
    )


@cache
def torch_builds() -> tuple[TorchBuild, ...]:
    """The PyTorch matrix, without rows whose CUDA has no base image (as Cog does at load)."""
    available = {major_minor(image.cuda) for image in cuda_images()}
    builds = []
    for r in _load("torch_compatibility.json"):
        cuda = r["CUDA"]
        if cuda is not None and major_minor(cuda) not in available:
            continue
        builds.append(
            TorchBuild(
                torch=r["Torch"],
                torchvision=r["Torchvision"],
                torchaudio=r["Torchaudio"],
                find_links=r["FindLinks"],
                extra_index_url=r["ExtraIndexURL"],
                cuda=cuda,
                pythons=tuple(r["Pythons"]),
            )
        )
    return tuple(builds)


@cache
def tensorflow_builds() -> tuple[TensorflowBuild, ...]:
    return tuple(
        TensorflowBuild(
            tf=r["TF"],
            cpu_package=r["TFCPUPackage"],
            gpu_package=r["TFGPUPackage"],
            cuda=major_minor(r["CUDA"]),
            cudnn=r["CuDNN"].split(".")[0],
            pythons=tuple(r["Pythons"]),
        )
        for r in _load("tf_compatibility.json")
    )


def cuda_matches(wanted: str, full: str) -> bool:
    """Whether CUDA `full` (12.1.1) is what `wanted` (12, 12.1 or 12.1.1) asks for."""
    wanted_parts = version_tuple(wanted)
    return version_tuple(full)[: len(wanted_parts)] == wanted_parts


def cudnns_for_cuda(cuda: str) -> list[str]:
    """cuDNN majors that have a base image for `cuda`, highest first."""
    found = {image.cudnn for image in cuda_images() if cuda_matches(cuda, image.cuda)}
    return sorted(found, key=int, reverse=True)


def tensorflow_build(version: str) -> TensorflowBuild | None:
    """The matrix row for `tensorflow==version` (`2.16` finds `2.16.1`)."""
    for build in tensorflow_builds():
        if build.tf == version:
            return build
    prefix = [b for b in tensorflow_builds() if cuda_matches(version, b.tf)]
    return max(prefix, key=lambda b: version_tuple(b.tf)) if prefix else None
