#!/usr/bin/env bash
# Runs the CUDA runtime tests on a machine with an NVIDIA GPU and torch, without network:
# dependency wheels come from .whl/ (see docs/gpu.md), cogpy is compiled there.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/gpu-out}; mkdir -p "$out"
{
  nvidia-smi -L; python3 --version
  python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
  python3 -m pip install -q --no-index --no-deps --no-build-isolation --upgrade --target /tmp/site . || exit 1
  (cd /tmp && python3 -c "import cog, cog.runtime.pool, cog._native.frames as f; print('cogpy', cog.__version__, f.__file__)")
  cd tests/gpu
  PYTHONUNBUFFERED=1 timeout 420 python3 -m pytest -p no:cacheprovider -v -rA \
    -o addopts="" -o pythonpath="" --rootdir=. test_cuda_runtime.py
} 2>&1 | tee "$out/gpu.log"
