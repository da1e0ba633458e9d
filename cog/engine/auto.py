"""Pick a container engine: DOCKER_HOST, then a local Docker or Podman socket, then a Podman
service started on demand. `COG_ENGINE=docker|podman` narrows the choice."""

from __future__ import annotations

import os

import docker
import docker.errors
import requests

from cog.engine import podman
from cog.engine.docker import Engine
from cog.engine.errors import EngineUnavailable

INSTALL_HINT = (
    "Install Docker (https://docs.docker.com/engine/install/) and start it, or install Podman "
    "(for example `apt-get install podman`; cog starts its API service itself), "
    "or point DOCKER_HOST at a running engine. "
    "To run a model without containers, use `--local`."
)

_connected: Engine | None = None


def connect() -> Engine:
    """Return a reachable engine (one per process), or raise EngineUnavailable saying what to
    install."""
    global _connected
    if _connected is None:
        _connected = _connect()
    return _connected


def _connect() -> Engine:
    wanted = os.environ.get("COG_ENGINE", "auto").strip().lower() or "auto"
    if wanted not in ("auto", "docker", "podman"):
        raise EngineUnavailable(
            f"COG_ENGINE={wanted!r} is not supported; use auto, docker or podman"
        )
    host = os.environ.get("DOCKER_HOST")
    if host:
        return _open(host, f"the engine at DOCKER_HOST={host}")
    candidates: list[str] = []
    if wanted in ("auto", "docker"):
        candidates.append("/var/run/docker.sock")
    if wanted in ("auto", "podman"):
        candidates.append("/run/podman/podman.sock")
        runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
        if runtime_dir:
            candidates.append(os.path.join(runtime_dir, "podman", "podman.sock"))
    for sock in candidates:
        if os.path.exists(sock):
            try:
                return _open(f"unix://{sock}", sock)
            except EngineUnavailable:
                continue
    if wanted in ("auto", "podman") and podman.installed():
        return _open(podman.start_service(), "podman")
    raise EngineUnavailable(f"No container engine is reachable. {INSTALL_HINT}")


def _open(url: str, what: str) -> Engine:
    try:
        client = docker.DockerClient(base_url=url, timeout=600)
        client.ping()
        version = client.version()
    except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
        raise EngineUnavailable(f"Cannot reach {what}: {exc}. {INSTALL_HINT}") from exc
    components = version.get("Components") or []
    podman = next((c for c in components if "podman" in str(c.get("Name", "")).lower()), None)
    if podman is not None:
        return Engine(client, "podman", url, str(podman.get("Version", "")))
    return Engine(client, "docker", url, str(version.get("Version", "")))
