"""`cog debug`: print the Dockerfile `cog build` would use."""

from __future__ import annotations

import argparse
import sys

from cog._version import __version__
from cog.build import find_weights, generate_dockerfile, weights_dockerfile
from cog.cli.build import weights_ref
from cog.cli.project import load_project


def run(args: argparse.Namespace) -> int:
    project = load_project(args.file)
    image = args.image_name or project.default_image_name()
    weights = find_weights(project.root) if args.separate_weights else None
    weights_image = weights_ref(image) if weights and weights.paths else None
    dockerfile = generate_dockerfile(
        project.config,
        project.root,
        runtime_wheel=f"cogpy-{__version__}-py3-none-any.whl",
        separate_weights=weights if weights_image else None,
        weights_image=weights_image,
        config_filename=project.config_file,
        max_concurrency=project.max_concurrency(),
    )
    if weights is None:
        sys.stdout.write(dockerfile)
        return 0
    sys.stdout.write(f"=== weights Dockerfile ({weights_image}) ===\n")
    sys.stdout.write(weights_dockerfile(weights) if weights_image else "(no weight files)\n")
    sys.stdout.write(f"\n=== runner Dockerfile ({image}) ===\n{dockerfile}")
    sys.stdout.write("\n=== excluded from the runner context ===\n")
    sys.stdout.write("".join(f"{path}\n" for path in weights.paths))
    return 0
