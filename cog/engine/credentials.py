"""Registry credentials kept where Docker's tools keep them: a credential helper when the
Docker config names one, else `auths` in `$DOCKER_CONFIG/config.json` (`~/.docker`). The
docker SDK reads the same file, so a later `cog push` or pull sends them."""

from __future__ import annotations

import base64
import json
import os
import tempfile

import docker.credentials
from docker.utils.config import DOCKER_CONFIG_FILENAME, config_path_from_environment, home_dir

from cog.engine.errors import EngineError


def config_path() -> str:
    return config_path_from_environment() or os.path.join(home_dir(), DOCKER_CONFIG_FILENAME)


def store_credentials(registry: str, username: str, secret: str) -> str:
    """Store `username`/`secret` for `registry`; returns where they went (for messages)."""
    path = config_path()
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except FileNotFoundError:
        config = {}
    except (OSError, ValueError) as exc:
        raise EngineError(f"cannot read the Docker config {path}: {exc}") from exc
    if not isinstance(config, dict):
        raise EngineError(f"the Docker config {path} is not a JSON object")
    helper = (config.get("credHelpers") or {}).get(registry) or config.get("credsStore")
    if helper:
        try:
            docker.credentials.Store(f"docker-credential-{helper}").store(
                registry, username, secret
            )
        except docker.credentials.StoreError as exc:
            raise EngineError(
                f"the Docker credential helper docker-credential-{helper} (named in {path}) "
                f"did not store the credentials: {exc}"
            ) from exc
        return f"docker-credential-{helper}"
    auth = base64.b64encode(f"{username}:{secret}".encode()).decode()
    config.setdefault("auths", {})[registry] = {"auth": auth}
    _write_private(path, json.dumps(config, indent=2) + "\n")
    return path


def _write_private(path: str, text: str) -> None:
    """Replace `path` atomically with a file only its owner can read."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".config.json.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
