"""`cog push [IMAGE]`: build the release image and push it to its registry (spec §7.7)."""

from __future__ import annotations

import argparse
import os

from cog.cli.build import build_image
from cog.cli.console import info
from cog.cli.errors import CLIError
from cog.cli.progress import BuildProgress
from cog.cli.project import Project, load_project


def target_ref(project: Project, positional: str | None) -> str:
    """positional > cog.yaml `image`; with `model`, the model ref plus COG_MODEL_* overrides."""
    if project.model:
        if positional:
            raise CLIError(
                "cog.yaml sets 'model', which names the push target: drop the image argument "
                "or set COG_MODEL/COG_MODEL_TAG"
            )
        model = os.environ.get("COG_MODEL") or project.model
        registry = os.environ.get("COG_MODEL_REGISTRY")
        repo = os.environ.get("COG_MODEL_REPO")
        if repo:
            model = repo if "/" in repo else f"{model.rsplit('/', 1)[0]}/{repo}"
        if registry:
            model = (
                f"{registry}/{model.split('/', 1)[1]}"
                if "." in model.split("/")[0]
                else f"{registry}/{model}"
            )
        tag = os.environ.get("COG_MODEL_TAG")
        if tag:
            if tag.startswith("cog-"):
                raise CLIError(f"tag {tag!r} is reserved: tags starting with 'cog-' belong to cog")
            model = f"{model}:{tag}"
        return model
    ref = positional or project.image
    if not ref:
        raise CLIError(
            "To push images, you must either set the 'image' option in cog.yaml or pass an "
            "image name as an argument. For example, 'cog push registry.example.com/your-model'"
        )
    return str(ref)


def run(args: argparse.Namespace) -> int:
    from cog.engine import connect

    project = load_project(args.file)
    ref = target_ref(project, args.image)
    info(f"Building Docker image from environment in cog.yaml as {ref}...")
    build_image(project, args, dev=False, tag=ref)
    engine = connect()
    info(f"Pushing image '{ref}'...")
    engine.push(ref, on_line=BuildProgress(args.progress).line)
    info(f"Image '{ref}' pushed")
    host = ref.split("/", 1)[0]
    if host == os.environ.get("COG_REGISTRY_HOST", "r8.im"):
        info(
            f"Run your model on Replicate: https://replicate.com/{ref.split('/', 1)[1].split(':')[0]}"
        )
    return 0
