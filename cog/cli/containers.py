"""Running a model image as the CLI does: port 5000 published on loopback, logs to stderr,
the project bind-mounted at /src for dev images, stopped on exit."""

from __future__ import annotations

import os
from collections.abc import Mapping

import requests

from cog.engine import Engine, EngineError, RunningContainer


class ContainerServer:
    def __init__(
        self,
        engine: Engine,
        image: str,
        *,
        env: Mapping[str, str] | None = None,
        project_dir: str | None = None,
        mode: str = "predict",
        host: str = "127.0.0.1",
        port: int | None = None,
        upload_url: str | None = None,
        gpus: str | None = None,
        debug: bool = False,
        await_explicit_shutdown: bool = False,
    ) -> None:
        self.engine = engine
        self.image = image
        self.host = host
        self.port = port
        child_env = {
            "LOG_FORMAT": "console",
            "COG_LOG_LEVEL": "debug" if debug else "warning",
        }
        if "RUST_LOG" in os.environ:
            child_env["RUST_LOG"] = os.environ["RUST_LOG"]
        child_env.update(env or {})
        self._env = child_env
        self._mounts = {os.path.abspath(project_dir): "/src"} if project_dir else {}
        command = ["python", "--check-hash-based-pycs", "never", "-m", "cog.server.http"]
        if await_explicit_shutdown:
            command += ["--await-explicit-shutdown", "true"]
        if mode == "train":
            command += ["--x-mode", "train"]
        if upload_url:
            command += ["--upload-url", upload_url]
        self._command = command
        self._extra_hosts = {"host.docker.internal": "host-gateway"} if upload_url else {}
        self._gpus = gpus
        self._await_explicit_shutdown = await_explicit_shutdown
        self._container: RunningContainer | None = None

    @property
    def base_url(self) -> str:
        assert self._container is not None
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self._container.host_port(5000)}"

    def start(self) -> ContainerServer:
        self._container = self._run(self._gpus)
        self._container.stream_logs()
        return self

    def _run(self, gpus: str | None) -> RunningContainer:
        try:
            return self.engine.run_detached(
                self.image,
                command=self._command,
                env=self._env,
                ports={5000: (self.host, self.port)},
                mounts=self._mounts,
                workdir="/src",
                shm_size="6g",
                extra_hosts=self._extra_hosts,
                gpus=gpus,
            )
        except EngineError as exc:
            # Images that want a GPU fall back to CPU on machines without the driver.
            if gpus and ("driver" in str(exc).lower() or "device" in str(exc).lower()):
                return self._run(None)
            raise

    def alive(self) -> bool:
        return self._container is not None and self._container.is_running()

    def stop(self) -> None:
        """Stop the server; one started with --await-explicit-shutdown ignores SIGTERM, so it
        is asked over HTTP first."""
        if self._container is None:
            return
        if self._await_explicit_shutdown and self._container.is_running():
            try:
                requests.post(f"{self.base_url}/shutdown", timeout=5)
            except (requests.RequestException, EngineError):
                pass
        self._container.stop()
        self._container = None
