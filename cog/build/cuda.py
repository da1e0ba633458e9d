"""CUDA and cuDNN for a GPU image, and the `nvidia/cuda` base image (spec §6.2 resolution).

TensorFlow pins decide first, then PyTorch pins, else CUDA 11.8; `build.cuda` and
`build.cudnn` override where the frameworks allow it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from cog.build import compat
from cog.build.requirements import Requirements
from cog.config import Config, ConfigError, ConfigWarning

DEFAULT_CUDA = "11.8"


@dataclass(frozen=True)
class GpuStack:
    """What a GPU image is built on."""

    cuda: str  # as resolved: the framework's major.minor, or build.cuda as written
    cudnn: str  # major
    base_image: str  # nvidia/cuda:<tag>
    ubuntu: str


def resolve_gpu(config: Config, requirements: Requirements) -> GpuStack:
    """Resolve CUDA/cuDNN for `config` (which must have `build.gpu: true`)."""
    build = config.build
    user_cuda = build.cuda if build else None
    user_cudnn = build.cudnn.split(".")[0] if build and build.cudnn else None

    if user_cuda and user_cudnn:
        available = compat.cudnns_for_cuda(user_cuda)
        if user_cudnn not in available:
            raise ConfigError(
                f"the specified CUDA version {user_cuda} is not compatible with CuDNN "
                f"{user_cudnn}. Compatible CuDNN versions are: {', '.join(available) or 'none'}",
                field="build.cudnn",
            )

    tf_version = requirements.pinned("tensorflow")
    torch_version = requirements.pinned("torch")
    if tf_version is not None:
        cuda, cudnn = _from_tensorflow(tf_version, user_cuda, user_cudnn)
    elif torch_version is not None:
        cuda, cudnn = _from_torch(torch_version, user_cuda, user_cudnn)
    else:
        cuda, cudnn = user_cuda or DEFAULT_CUDA, user_cudnn
    if cudnn is None:
        available = compat.cudnns_for_cuda(cuda)
        if not available:
            raise ConfigError(f"no matching base image for CUDA {cuda}", field="build.cuda")
        cudnn = available[0]
    image = _base_image(cuda, cudnn)
    return GpuStack(cuda=cuda, cudnn=cudnn, base_image=image.image, ubuntu=image.ubuntu)


def _from_tensorflow(
    version: str, user_cuda: str | None, user_cudnn: str | None
) -> tuple[str, str | None]:
    build = compat.tensorflow_build(version)
    if build is None:
        if user_cuda is None:
            raise ConfigError(
                f"Cog doesn't know what CUDA version is compatible with tensorflow=={version}. "
                "You might need to upgrade Cog. If this version of TensorFlow works with a "
                "specific CUDA version, set it with the 'cuda' option in the build section "
                'of cog.yaml (for example cuda: "12.2")',
                field="build.cuda",
            )
        return user_cuda, user_cudnn
    if user_cudnn is not None and user_cudnn != build.cudnn:
        raise ConfigError(
            f"the specified cuDNN version {user_cudnn} is not compatible with "
            f"tensorflow=={version}. Compatible cuDNN version is: {build.cudnn}",
            field="build.cudnn",
        )
    if user_cuda is None:
        return build.cuda, build.cudnn
    if compat.major_minor(user_cuda) != build.cuda:
        warnings.warn(
            f"Cog doesn't know if CUDA {user_cuda} is compatible with TensorFlow {version}. "
            f"This might cause CUDA problems. Try CUDA {build.cuda} instead?",
            ConfigWarning,
            stacklevel=3,
        )
    return user_cuda, build.cudnn


def _from_torch(
    version: str, user_cuda: str | None, user_cudnn: str | None
) -> tuple[str, str | None]:
    exact = "+" in version
    rows = [
        b
        for b in compat.torch_builds()
        if b.cuda is not None
        and (b.torch == version if exact else compat.strip_local(b.torch) == version)
    ]
    cudas = sorted({b.cuda for b in rows if b.cuda}, key=compat.version_tuple)
    if not cudas:
        if user_cuda is None:
            raise ConfigError(
                f"Cog doesn't know what CUDA version is compatible with torch=={version}. "
                "You might need to upgrade Cog. If this version of PyTorch works with a "
                "specific CUDA version, set it with the 'cuda' option in the build section "
                'of cog.yaml (for example cuda: "12.1")',
                field="build.cuda",
            )
        return user_cuda, user_cudnn
    if user_cuda is None:
        return cudas[-1], user_cudnn
    if compat.major_minor(user_cuda) not in cudas:
        warnings.warn(
            f"Cog doesn't know if CUDA {user_cuda} is compatible with PyTorch {version}. "
            f"This might cause CUDA problems. Try {cudas[-1]} instead? "
            f"(known CUDA versions for it: {', '.join(cudas)})",
            ConfigWarning,
            stacklevel=3,
        )
    return user_cuda, user_cudnn


def _base_image(cuda: str, cudnn: str) -> compat.CudaImage:
    """The newest matching tag: CUDA prefix match, equal cuDNN, highest CUDA, newest Ubuntu."""
    images = [
        image
        for image in compat.cuda_images()
        if compat.cuda_matches(cuda, image.cuda) and image.cudnn == cudnn
    ]
    if not images:
        raise ConfigError(
            f"no matching base image for CUDA {cuda} and CuDNN {cudnn}", field="build.cuda"
        )
    return max(
        images,
        key=lambda i: (compat.version_tuple(i.cuda), compat.version_tuple(i.ubuntu)),
    )
