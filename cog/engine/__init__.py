"""Container engines: the Docker Engine API spoken through the `docker` SDK, to Docker
itself or to Podman's compatible service (`cog.engine.podman`), picked by `cog.engine.auto`."""

from cog.engine.auto import connect
from cog.engine.docker import BuildResult, Engine, RunningContainer
from cog.engine.errors import BuildError, EngineError, EngineUnavailable

__all__ = [
    "BuildError",
    "BuildResult",
    "Engine",
    "EngineError",
    "EngineUnavailable",
    "RunningContainer",
    "connect",
]
