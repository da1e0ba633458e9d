"""Image builds: base image choice, requirements rewriting and the Dockerfile (spec §6)."""

from cog.build.ca_cert import read_ca_cert
from cog.build.context import STAGING_DIR, context_excludes, context_paths, read_dockerignore
from cog.build.cuda import GpuStack, resolve_gpu
from cog.build.dockerfile import (
    BuildPlan,
    base_image,
    generate_build,
    generate_dockerfile,
    write_staged,
)
from cog.build.labels import effective_config, image_labels
from cog.build.weights import (
    WeightPaths,
    find_weights,
    weights_changed,
    weights_dockerfile,
    weights_manifest,
)

__all__ = [
    "STAGING_DIR",
    "BuildPlan",
    "GpuStack",
    "WeightPaths",
    "base_image",
    "context_excludes",
    "context_paths",
    "effective_config",
    "find_weights",
    "generate_build",
    "generate_dockerfile",
    "image_labels",
    "read_ca_cert",
    "read_dockerignore",
    "resolve_gpu",
    "weights_changed",
    "weights_dockerfile",
    "weights_manifest",
    "write_staged",
]
