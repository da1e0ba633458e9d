"""`cog debug`: print the Dockerfile `cog build` would use."""

from __future__ import annotations

import argparse
import sys

from cog._version import __version__
from cog.build import generate_dockerfile
from cog.cli.errors import CLIError
from cog.cli.project import load_project


def run(args: argparse.Namespace) -> int:
    if args.separate_weights:
        raise CLIError("--separate-weights is not supported by this cog yet")
    project = load_project(args.file)
    sys.stdout.write(
        generate_dockerfile(
            project.config,
            project.root,
            runtime_wheel=f"cogpy-{__version__}-py3-none-any.whl",
            config_filename=project.config_file,
        )
    )
    return 0
