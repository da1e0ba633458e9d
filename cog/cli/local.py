"""`--local`: the project's own runtime (`python -m cog.server.http`) in this Python
environment, on a free loopback port, with no container."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """The runtime started in `project_dir`; its output goes to our stderr so stdout holds
    only the prediction's output."""

    def __init__(
        self,
        project_dir: str,
        *,
        predict_ref: str | None,
        train_ref: str | None = None,
        mode: str = "predict",
        env: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        upload_url: str | None = None,
        debug: bool = False,
        inherit_stdout: bool = False,
    ) -> None:
        self.project_dir = project_dir
        self.host = host
        self.port = port or free_port(host)
        child_env = dict(os.environ)
        child_env.update(env or {})
        child_env["PORT"] = str(self.port)
        child_env.setdefault("LOG_FORMAT", "console")
        child_env["COG_LOG_LEVEL"] = "debug" if debug else child_env.get("COG_LOG_LEVEL", "warning")
        for name, ref in (
            ("COG_PREDICT_TYPE_STUB", predict_ref),
            ("COG_TRAIN_TYPE_STUB", train_ref),
        ):
            if ref:
                child_env[name] = ref
            else:
                child_env.pop(name, None)
        self.command: list[str] = [sys.executable, "-m", "cog.server.http", "--host", host]
        if mode == "train":
            self.command += ["--x-mode", "train"]
        if upload_url:
            self.command += ["--upload-url", upload_url]
        self._env = child_env
        self._inherit_stdout = inherit_stdout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> LocalServer:
        self._proc = subprocess.Popen(
            self.command,
            cwd=self.project_dir,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=None if self._inherit_stdout else sys.stderr.fileno(),
            stderr=None,
        )
        return self

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_local_command(
    project_dir: str, argv: Sequence[str], env: Mapping[str, str] | None = None
) -> int:
    """`cog exec --local`: the command in the project directory with its environment."""
    child_env = dict(os.environ)
    child_env.update(env or {})
    try:
        return subprocess.call(list(argv), cwd=project_dir, env=child_env)
    except FileNotFoundError:
        from cog.cli.errors import CLIError

        raise CLIError(f"command not found: {argv[0]}") from None
