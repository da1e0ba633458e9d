"""Generated Dockerfiles for typical projects, compared with the files in golden/ and checked
against the compatibility matrices. `UPDATE_GOLDEN=1` rewrites the golden files."""

from __future__ import annotations

import os
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from cog.build import BuildPlan, generate_build
from cog.config import ConfigWarning, load_config
from tests.unit.build import matrix

GOLDEN = Path(__file__).with_name("golden")
WHEEL = "cogpy-0.1.0-cp311-cp311-linux_x86_64.whl"
PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBszCCAVmgAwIBAgIUZ29sZGVuLXRlc3QtY2VydGlmaWNhdGUwCgYIKoZIzj0E\n"
    "-----END CERTIFICATE-----\n"
)


@dataclass
class Project:
    name: str
    cog_yaml: str
    files: dict[str, str]


PROJECTS = {
    "cpu": Project(
        "cpu",
        """\
        build:
          python_version: "3.11"
          python_requirements: requirements.txt
        run: predict.py:Predictor
        """,
        {"requirements.txt": "numpy==1.26.4\ntorch==2.1.0\n"},
    ),
    "cuda_torch": Project(
        "cuda_torch",
        """\
        build:
          python_version: "3.11"
          gpu: true
          python_requirements: requirements.txt
        run: predict.py:Predictor
        train: train.py:train
        """,
        {"requirements.txt": "torch==2.1.0\ntorchvision==0.16.0\npillow==10.4.0\n"},
    ),
    "tensorflow": Project(
        "tensorflow",
        """\
        build:
          python_version: "3.11"
          gpu: true
          python_packages:
            - tensorflow==2.15.0
        predict: predict.py:Predictor
        """,
        {},
    ),
    "packages_and_secrets": Project(
        "packages_and_secrets",
        """\
        build:
          python_version: "3.12"
          python_requirements: requirements.txt
          system_packages:
            - ffmpeg
            - libgl1
          run:
            - echo building
            - command: pip download --index-url "$(cat /run/secrets/index)" private-pkg
              mounts:
                - type: secret
                  id: index
                  target: /run/secrets/index
        run: predict.py:Predictor
        concurrency:
          max: 4
        environment:
          - TOKENIZERS_PARALLELISM=false
          - GREETING=hello "world" $HOME
        """,
        {
            "requirements.txt": "--extra-index-url https://example.invalid/simple\nrequests==2.32.3\n"
        },
    ),
    "custom_ca": Project(
        "custom_ca",
        """\
        build:
          python_version: "3.11"
          python_packages:
            - numpy==1.26.4
        run: predict.py:Predictor
        """,
        {},
    ),
}


def make(tmp_path: Path, project: Project) -> Path:
    root = tmp_path / project.name
    root.mkdir()
    (root / "cog.yaml").write_text(textwrap.dedent(project.cog_yaml))
    for name, text in project.files.items():
        (root / name).write_text(text)
    return root


def build(tmp_path: Path, name: str, **options: object) -> BuildPlan:
    root = make(tmp_path, PROJECTS[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfigWarning)  # deprecated keys are on purpose here
        config, root = load_config(root / "cog.yaml")
    options.setdefault("ca_cert", "")
    return generate_build(config, root, runtime_wheel=WHEEL, **options)  # type: ignore[arg-type]


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.Dockerfile"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.is_file(), f"no golden file {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text()


@pytest.fixture(autouse=True)
def _no_ambient_ca(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COG_CA_CERT", raising=False)


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_golden(tmp_path: Path, name: str) -> None:
    options: dict[str, object] = {}
    if name == "custom_ca":
        options["ca_cert"] = PEM
    plan = build(tmp_path, name, **options)
    check_golden(name, plan.dockerfile)


def test_golden_dev_image(tmp_path: Path) -> None:
    plan = build(tmp_path, "cpu", dev=True)
    check_golden("cpu_dev", plan.dockerfile)
    assert "COPY . /src" not in plan.dockerfile


def test_cpu_uses_python_slim_and_the_cpu_torch_index(tmp_path: Path) -> None:
    plan = build(tmp_path, "cpu")
    assert plan.dockerfile.splitlines()[1] == "FROM python:3.11-slim"
    assert plan.gpu is None
    cpu_index = matrix.torch_index("torch", "2.1.0", None)
    assert cpu_index == "https://download.pytorch.org/whl/cpu/"
    assert plan.requirements == f"--extra-index-url {cpu_index}\nnumpy==1.26.4\ntorch==2.1.0\n"
    assert plan.staged["requirements.txt"] == plan.requirements


def test_cuda_torch_follows_the_matrices(tmp_path: Path) -> None:
    plan = build(tmp_path, "cuda_torch")
    cudas = matrix.torch_cudas("2.1.0")
    cuda = cudas[-1]  # no build.cuda: the highest CUDA PyTorch 2.1.0 was built for
    cudnn = matrix.highest_cudnn(cuda)
    tag = matrix.cuda_tag(cuda, cudnn)
    assert plan.gpu is not None
    assert (plan.gpu.cuda, plan.gpu.cudnn) == (cuda, cudnn)
    assert plan.dockerfile.splitlines()[1] == f"FROM nvidia/cuda:{tag}"
    index = matrix.torch_index("torch", "2.1.0", cuda)
    assert index == matrix.torch_index("torchvision", "0.16.0", cuda)
    assert plan.requirements.splitlines() == [
        f"--extra-index-url {index}",
        "torch==2.1.0",
        "torchvision==0.16.0",
        "pillow==10.4.0",
    ]
    assert "python3.11 -m venv /opt/cog/python" in plan.dockerfile
    assert 'ENV COG_TRAIN_TYPE_STUB="train.py:train"' in plan.dockerfile


def test_tensorflow_follows_the_matrices(tmp_path: Path) -> None:
    plan = build(tmp_path, "tensorflow")
    row = matrix.tensorflow("2.15.0")
    cuda = ".".join(row["CUDA"].split(".")[:2])
    cudnn = row["CuDNN"].split(".")[0]
    assert plan.gpu is not None
    assert (plan.gpu.cuda, plan.gpu.cudnn) == (cuda, cudnn)
    assert plan.dockerfile.splitlines()[1] == f"FROM nvidia/cuda:{matrix.cuda_tag(cuda, cudnn)}"
    assert plan.requirements == f"{row['TFGPUPackage']}\n"


def test_packages_secrets_environment(tmp_path: Path) -> None:
    plan = build(tmp_path, "packages_and_secrets")
    lines = plan.dockerfile.splitlines()
    assert lines[1] == "FROM python:3.12-slim"
    assert (
        "RUN --mount=type=cache,target=/var/cache/apt,sharing=locked apt-get update -qq && "
        "apt-get install -qqy ffmpeg libgl1 && rm -rf /var/lib/apt/lists/*"
    ) in lines
    assert (
        'RUN --mount=type=secret,id=index,target=/run/secrets/index pip download --index-url "$(cat'
        ' /run/secrets/index)" private-pkg'
    ) in lines
    # One ENV line, names sorted, values literal.
    assert 'ENV GREETING="hello \\"world\\" \\$HOME" TOKENIZERS_PARALLELISM="false"' in lines
    assert "ENV COG_MAX_CONCURRENCY=4" in lines
    assert plan.requirements == (
        "--extra-index-url https://example.invalid/simple\nrequests==2.32.3\n"
    )
    # Order of §6.4: apt packages, requirements, runtime, run commands, then the server setup.
    order = [
        "apt-get install -qqy ffmpeg",
        "-r /tmp/requirements.txt",
        f"/tmp/{WHEEL}",
        "echo building",
        "WORKDIR /src",
        "EXPOSE 5000",
        'CMD ["python", "-m", "cog.server.http"]',
        "COPY . /src",
    ]
    positions = [next(i for i, line in enumerate(lines) if step in line) for step in order]
    assert positions == sorted(positions)


def test_custom_ca(tmp_path: Path) -> None:
    plan = build(tmp_path, "custom_ca", ca_cert=PEM)
    assert plan.staged["cog-ca.crt"] == PEM
    text = plan.dockerfile
    assert "COPY .cog/build/cog-ca.crt /usr/local/share/ca-certificates/cog-ca.crt" in text
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT"):
        assert f"ENV {name}=/etc/ssl/certs/ca-certificates.crt" in text
    # The CA is trusted before anything is downloaded.
    assert text.index("cog-ca.crt") < text.index("apt-get") < text.index("pip install")


def test_no_custom_ca_without_cog_ca_cert(tmp_path: Path) -> None:
    plan = build(tmp_path, "cpu")
    assert "cog-ca.crt" not in plan.staged and "ca-certificates" not in plan.dockerfile


def test_tini_is_pid_1(tmp_path: Path) -> None:
    plan = build(tmp_path, "cpu")
    assert "apt-get install -qqy --no-install-recommends tini" in plan.dockerfile
    assert 'ENTRYPOINT ["/sbin/tini", "--"]' in plan.dockerfile.splitlines()
