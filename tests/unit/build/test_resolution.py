"""CUDA/cuDNN resolution and requirement rewriting (spec §6.2), with their errors and warnings."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest

from cog.build import requirements as reqs
from cog.build.cuda import resolve_gpu
from cog.build.dockerfile import resolve
from cog.config import ConfigError, ConfigWarning, validate_document
from tests.unit.build import matrix


def project(tmp_path: Path, requirements: str, **build: Any) -> tuple[Any, Path]:
    (tmp_path / "requirements.txt").write_text(textwrap.dedent(requirements))
    document = {
        "build": {"python_version": "3.11", "python_requirements": "requirements.txt", **build}
    }
    return validate_document(document, tmp_path), tmp_path


def gpu_for(tmp_path: Path, requirements: str, **build: Any) -> Any:
    config, root = project(tmp_path, requirements, gpu=True, **build)
    return resolve_gpu(config, reqs.read_requirements(config, root))


def test_default_cuda_is_11_8(tmp_path: Path) -> None:
    gpu = gpu_for(tmp_path, "numpy\n")
    assert (gpu.cuda, gpu.cudnn) == ("11.8", matrix.highest_cudnn("11.8"))
    assert gpu.base_image == "nvidia/cuda:" + matrix.cuda_tag("11.8", gpu.cudnn)


def test_unpinned_torch_is_the_default_cuda(tmp_path: Path) -> None:
    assert gpu_for(tmp_path, "torch\n").cuda == "11.8"


@pytest.mark.parametrize("version", ["1.13.1", "2.0.1", "2.3.1", "2.6.0", "2.9.1"])
def test_torch_picks_its_highest_cuda(tmp_path: Path, version: str) -> None:
    gpu = gpu_for(tmp_path, f"torch=={version}\n")
    cuda = matrix.torch_cudas(version)[-1]
    assert gpu.cuda == cuda
    assert gpu.cudnn == matrix.highest_cudnn(cuda)
    assert gpu.base_image == "nvidia/cuda:" + matrix.cuda_tag(cuda, gpu.cudnn)


def test_local_version_pin_selects_exactly_that_cuda(tmp_path: Path) -> None:
    config, root = project(tmp_path, "torch==2.1.0+cu118\n", gpu=True)
    gpu, rewritten = resolve(config, root)
    assert gpu is not None and gpu.cuda == "11.8"
    text = reqs.render(rewritten)
    assert text == "--extra-index-url https://download.pytorch.org/whl/cu118/\ntorch==2.1.0\n"


def test_user_cuda_is_kept_with_a_torch_mismatch_warning(tmp_path: Path) -> None:
    with pytest.warns(
        ConfigWarning, match="Cog doesn't know if CUDA 12.4 is compatible with PyTorch 2.1.0"
    ):
        gpu = gpu_for(tmp_path, "torch==2.1.0\n", cuda="12.4")
    assert gpu.cuda == "12.4"


def test_user_cuda_rewrites_torch_to_the_highest_cuda_below(tmp_path: Path) -> None:
    config, root = project(tmp_path, "torch==2.1.0\n", gpu=True, cuda="11.8")
    gpu, rewritten = resolve(config, root)
    assert gpu is not None and gpu.cuda == "11.8"
    assert reqs.render(rewritten).splitlines()[0] == (
        "--extra-index-url " + matrix.torch_index("torch", "2.1.0", "11.8")
    )


def test_unknown_torch_without_cuda_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"Cog doesn't know what CUDA version is compatible with torch==0\.4\.1"
    ):
        gpu_for(tmp_path, "torch==0.4.1\n")


def test_unknown_torch_with_cuda_uses_it(tmp_path: Path) -> None:
    assert gpu_for(tmp_path, "torch==0.4.1\n", cuda="12.1").cuda == "12.1"


def test_tensorflow_sets_cuda_and_cudnn(tmp_path: Path) -> None:
    gpu = gpu_for(tmp_path, "tensorflow==2.18.0\n")
    row = matrix.tensorflow("2.18.0")
    assert gpu.cuda == row["CUDA"] and gpu.cudnn == row["CuDNN"].split(".")[0]
    assert gpu.base_image == "nvidia/cuda:" + matrix.cuda_tag(gpu.cuda, gpu.cudnn)


def test_tensorflow_wins_over_torch(tmp_path: Path) -> None:
    gpu = gpu_for(tmp_path, "torch==2.1.0\ntensorflow==2.15.0\n")
    assert gpu.cuda == "12.2"


def test_unknown_tensorflow_without_cuda_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"compatible with tensorflow==1\.2\.3.*set it with the 'cuda' option"
    ):
        gpu_for(tmp_path, "tensorflow==1.2.3\n")


def test_tensorflow_cudnn_conflict_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        gpu_for(tmp_path, "tensorflow==2.18.0\n", cudnn="8")
    assert str(info.value) == (
        "the specified cuDNN version 8 is not compatible with tensorflow==2.18.0. "
        "Compatible cuDNN version is: 9"
    )


def test_tensorflow_cuda_mismatch_warns(tmp_path: Path) -> None:
    with pytest.warns(ConfigWarning, match="CUDA 12.4 is compatible with TensorFlow 2.18.0"):
        gpu = gpu_for(tmp_path, "tensorflow==2.18.0\n", cuda="12.4")
    assert (gpu.cuda, gpu.cudnn) == ("12.4", "9")


def test_cuda_and_cudnn_must_match(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        gpu_for(tmp_path, "numpy\n", cuda="12.4", cudnn="8")
    assert str(info.value) == (
        "the specified CUDA version 12.4 is not compatible with CuDNN 8. "
        "Compatible CuDNN versions are: 9"
    )


def test_no_base_image(tmp_path: Path) -> None:
    # TensorFlow 2.16.1 was tested with CUDA 12.3 + cuDNN 8, but CUDA 12.3 images ship cuDNN 9.
    with pytest.raises(ConfigError, match="no matching base image for CUDA 12.3 and CuDNN 8"):
        gpu_for(tmp_path, "tensorflow==2.16.1\n")


def test_explicit_cuda_patch_version(tmp_path: Path) -> None:
    gpu = gpu_for(tmp_path, "numpy\n", cuda="12.1.0")
    assert gpu.base_image == "nvidia/cuda:" + matrix.cuda_tag("12.1.0", "8")


# Requirements ---------------------------------------------------------------------------


def rendered(tmp_path: Path, text: str, *, gpu: bool = False) -> str:
    config, root = project(tmp_path, text, gpu=gpu)
    return reqs.render(resolve(config, root)[1])


def test_options_are_hoisted_in_order(tmp_path: Path) -> None:
    text = rendered(
        tmp_path,
        """\
        # a comment
        numpy==1.26.4  # trailing comment
        --extra-index-url https://a.invalid/simple
        -f https://links.invalid/
        --index-url https://index.invalid/simple
        pandas==2.2.2 \\
            --extra-index-url=https://b.invalid/simple
        --pre
        """,
    )
    assert text == textwrap.dedent(
        """\
        --index-url https://index.invalid/simple
        --find-links https://links.invalid/
        --extra-index-url https://a.invalid/simple
        --extra-index-url https://b.invalid/simple
        --pre
        numpy==1.26.4
        pandas==2.2.2
        """
    )


def test_explicit_index_on_a_torch_line_wins(tmp_path: Path) -> None:
    text = rendered(tmp_path, "torch==2.1.0 --extra-index-url https://mirror.invalid/\n", gpu=True)
    assert text == "--extra-index-url https://mirror.invalid/\ntorch==2.1.0\n"


def test_torchaudio_follows_the_matrix(tmp_path: Path) -> None:
    text = rendered(tmp_path, "torch==2.4.1\ntorchaudio==2.4.1\n", gpu=True)
    cuda = matrix.torch_cudas("2.4.1")[-1]
    assert text.splitlines() == [
        f"--extra-index-url {matrix.torch_index('torch', '2.4.1', cuda)}",
        "torch==2.4.1",
        "torchaudio==2.4.1",
    ]


def test_default_pypi_torch_build_adds_no_index(tmp_path: Path) -> None:
    # torch 2.0.1 for CUDA 11.7 is the build on the default index (no ExtraIndexURL).
    config, root = project(tmp_path, "torch==2.0.1\n", gpu=True, cuda="11.7")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert reqs.render(resolve(config, root)[1]) == "torch==2.0.1\n"


def test_runtime_packages_are_removed_with_a_warning(tmp_path: Path) -> None:
    with pytest.warns(ConfigWarning) as record:
        text = rendered(tmp_path, "cog==0.9.0\nnumpy\ncoglet\n")
    assert text == "numpy\n"
    assert [str(w.message).split(" from")[0] for w in record] == [
        'removed "cog==0.9.0"',
        'removed "coglet"',
    ]


def test_included_requirements_files(tmp_path: Path) -> None:
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "base.txt").write_text("pillow==10.4.0\n-r ../requirements.txt\n")
    text = rendered(tmp_path, "numpy==1.26.4\n-r more/base.txt\n")
    assert text == "numpy==1.26.4\npillow==10.4.0\n"


def test_constraints_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="constraints files are not supported"):
        rendered(tmp_path, "-c constraints.txt\nnumpy\n")


def test_local_wheels_are_staged(tmp_path: Path) -> None:
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "mine-1.0-py3-none-any.whl").write_bytes(b"PK")
    config, root = project(tmp_path, "./wheels/mine-1.0-py3-none-any.whl\nnumpy\n")
    parsed = reqs.read_requirements(config, root)
    assert [a.staged_name for a in parsed.local_artifacts] == ["mine-1.0-py3-none-any.whl"]
    assert reqs.render(parsed) == f"{reqs.LOCAL_ARTIFACT_DIR}/mine-1.0-py3-none-any.whl\nnumpy\n"


def test_local_wheels_must_be_inside_the_project(tmp_path: Path) -> None:
    inner = tmp_path / "proj"
    inner.mkdir()
    (tmp_path / "outside-1.0-py3-none-any.whl").write_bytes(b"PK")
    with pytest.raises(ConfigError, match="local packages must be inside the project directory"):
        rendered(inner, "../outside-1.0-py3-none-any.whl\n")


def test_python_packages_are_requirements_too(tmp_path: Path) -> None:
    with pytest.warns(ConfigWarning, match="python_packages"):
        config = validate_document(
            {"build": {"python_version": "3.11", "python_packages": ["torch==2.1.0", "numpy"]}},
            tmp_path,
        )
    assert reqs.render(resolve(config, tmp_path)[1]) == (
        "--extra-index-url https://download.pytorch.org/whl/cpu/\ntorch==2.1.0\nnumpy\n"
    )


def test_pinned_lookup_normalises_names(tmp_path: Path) -> None:
    config, root = project(tmp_path, "TorchVision==0.16.0\nTyping.Extensions==4.12.2\n")
    parsed = reqs.read_requirements(config, root)
    assert parsed.pinned("torchvision") == "0.16.0"
    assert parsed.pinned("torch") is None
    assert parsed.pinned("typing_extensions") == "4.12.2"
