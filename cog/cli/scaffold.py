"""`cog init`: starter files in the current directory; existing files are never touched."""

from __future__ import annotations

import argparse
import os

from cog.cli.console import info

COG_YAML = """\
# Configuration for Cog: https://cog.run/yaml
build:
  # a GPU? set gpu: true
  gpu: false

  # Python version in the form '3.11' or '3.11.4'
  python_version: "3.13"

  # the Python packages the model needs, one per line in requirements.txt
  python_requirements: requirements.txt

  # system packages from apt, for example:
  # system_packages:
  #   - "libgl1"

  # commands run after the packages are installed
  # run:
  #   - "echo env is ready!"

# where the model's Runner class is
run: "run.py:Runner"
"""

RUN_PY = '''\
# The model's interface: https://cog.run/python
from cog import BaseRunner, Input, Path


class Runner(BaseRunner):
    def setup(self) -> None:
        """Load the model into memory so that each run is fast."""
        # self.model = torch.load("./weights.pth")

    def run(
        self,
        image: Path = Input(description="Grayscale input image"),
        scale: float = Input(description="Factor to scale image by", ge=0, le=10, default=1.5),
    ) -> Path:
        """Run a single prediction on the model."""
        # processed_input = preprocess(image)
        # output = self.model(processed_image, scale)
        # return postprocess(output)
        return image
'''

REQUIREMENTS = """\
# The Python packages the model needs, for example:
# numpy==1.26.4
# torch==2.3.1
"""

DOCKERIGNORE = """\
# Files left out of the image
.git
.gitignore
**/__pycache__
**/*.pyc
.mypy_cache
.pytest_cache
.ruff_cache
/venv
/.venv
"""

WORKFLOW = """\
# Push the model to Replicate on every push to main.
name: Push to Replicate

on:
  push:
    branches: [main]
  workflow_dispatch:

jobs:
  push:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: replicate/setup-cog@v2
        with:
          token: ${{ secrets.REPLICATE_API_TOKEN }}
      - run: cog push
"""

FILES = {
    "cog.yaml": COG_YAML,
    "run.py": RUN_PY,
    "requirements.txt": REQUIREMENTS,
    ".dockerignore": DOCKERIGNORE,
    os.path.join(".github", "workflows", "push.yaml"): WORKFLOW,
}


def run(args: argparse.Namespace) -> int:
    info("Setting up the current directory for use with Cog...")
    for name, text in FILES.items():
        if os.path.exists(name):
            info(f"Skipped existing {name}")
            continue
        parent = os.path.dirname(name)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(name, "w", encoding="utf-8") as f:
            f.write(text)
        info(f"Wrote {name}")
    info("\nDone! For next steps, see https://cog.run/getting-started-own-model")
    return 0
