"""The one place that speaks the Docker Engine API (Docker, or Podman's compatible service)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import docker
import docker.auth
import docker.errors
import docker.utils
from docker.models.containers import Container

from cog.engine.credentials import store_credentials
from cog.engine.errors import BuildError, EngineError

# "Step 3/9 : RUN ..." (Docker's classic builder) and "STEP 3/9: RUN ..." (buildah/Podman).
_STEP_LINE = re.compile(r"^(?:STEP|Step) \d+/\d+ ?:")


@dataclass(frozen=True)
class BuildResult:
    image_id: str
    tag: str | None


class RunningContainer:
    """A detached container: its published port, its logs, and a way to stop it."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self._log_thread: threading.Thread | None = None

    @property
    def id(self) -> str:
        return str(self._container.id)

    def host_port(self, container_port: int = 5000) -> int:
        """The loopback port the engine published for `container_port`."""
        self._container.reload()
        bindings = (self._container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
        for binding in bindings.get(f"{container_port}/tcp") or []:
            if binding.get("HostPort"):
                return int(binding["HostPort"])
        raise EngineError(f"container {self.id[:12]} has no published port for {container_port}")

    def is_running(self) -> bool:
        try:
            self._container.reload()
        except docker.errors.NotFound:
            return False
        return self._container.status in ("created", "running")

    def exit_code(self) -> int | None:
        try:
            self._container.reload()
        except docker.errors.NotFound:
            return None
        state = self._container.attrs.get("State") or {}
        return None if state.get("Running") else int(state.get("ExitCode", 0))

    def stream_logs(self, sink: IO[str] | None = None) -> None:
        """Copy the container's stdout and stderr to `sink` (stderr) from a background thread."""
        out = sink if sink is not None else sys.stderr

        def pump() -> None:
            try:
                for chunk in self._container.logs(stream=True, follow=True):
                    out.write(chunk.decode("utf-8", "replace"))
                    out.flush()
            except (docker.errors.APIError, OSError, ValueError):
                return

        self._log_thread = threading.Thread(target=pump, name="container-logs", daemon=True)
        self._log_thread.start()

    def join_logs(self, timeout: float = 10.0) -> None:
        """Wait for the log stream to drain (it ends when the container exits)."""
        if self._log_thread is not None:
            self._log_thread.join(timeout)

    def logs(self, *, stdout: bool = True, stderr: bool = True) -> str:
        try:
            raw = self._container.logs(stdout=stdout, stderr=stderr)
            return bytes(raw).decode("utf-8", "replace")
        except docker.errors.APIError:
            return ""

    def wait(self) -> int:
        result = self._container.wait()
        return int(result.get("StatusCode", 1))

    def stop(self, timeout: int = 5) -> None:
        try:
            self._container.stop(timeout=timeout)
        except docker.errors.APIError:
            pass
        self.remove()

    def remove(self) -> None:
        try:
            self._container.remove(force=True)
        except docker.errors.APIError:
            pass


class Engine:
    """A connected engine. `name` says which one (docker or podman) for messages; `version`
    is its release (Podman's own, not the API version it emulates)."""

    def __init__(
        self, client: docker.DockerClient, name: str, base_url: str, version: str = ""
    ) -> None:
        self.client = client
        self.name = name
        self.base_url = base_url
        self.version = version

    @property
    def supports_copy_link(self) -> bool:
        """Buildah before Podman 4.6 rejects `COPY --link`; builds leave the flag out there
        (it only changes how layers are cached)."""
        return copy_link_supported(self.name, self.version)

    def ping(self) -> None:
        self.client.ping()

    # Images -------------------------------------------------------------------------------

    def build(
        self,
        context_dir: str,
        dockerfile: str,
        *,
        tag: str | None = None,
        labels: Mapping[str, str] | None = None,
        no_cache: bool = False,
        secrets: Mapping[str, bytes] | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> BuildResult:
        """Build `dockerfile` (a path inside `context_dir`) and return the image id.

        `secrets` maps ids to values for `RUN --mount=type=secret,id=...`. Every output line
        goes to `on_line` as it arrives; on failure the BuildError carries the log of the
        failing step so the user sees why without re-running."""
        step_log: list[str] = []
        image_id: str | None = None
        try:
            if secrets:
                stream = self._build_with_secrets(
                    context_dir, dockerfile, tag, labels, no_cache, secrets
                )
            else:
                stream = self.client.api.build(
                    path=context_dir,
                    dockerfile=dockerfile,
                    tag=tag,
                    labels=dict(labels or {}),
                    nocache=no_cache,
                    rm=True,
                    forcerm=True,
                    decode=True,
                    platform="linux/amd64",
                )
            for event in stream:
                if "error" in event or "errorDetail" in event:
                    message = str(
                        event.get("error") or (event.get("errorDetail") or {}).get("message")
                    )
                    raise BuildError(_failure_message(message, step_log), "".join(step_log))
                text = event.get("stream")
                if text:
                    for line in text.splitlines(keepends=True):
                        if _STEP_LINE.match(line):
                            step_log = []
                        step_log.append(line)
                        if on_line is not None:
                            on_line(line)
                aux = event.get("aux")
                if isinstance(aux, dict) and aux.get("ID"):
                    image_id = str(aux["ID"])
        except docker.errors.APIError as exc:
            raise BuildError(
                _failure_message(_api_message(exc), step_log), "".join(step_log)
            ) from exc
        if image_id is None and tag:
            image_id = self.image_id(tag)
        if image_id is None:
            raise BuildError(_failure_message("the engine reported no image id", step_log))
        return BuildResult(image_id=image_id, tag=tag)

    def _build_with_secrets(
        self,
        context_dir: str,
        dockerfile: str,
        tag: str | None,
        labels: Mapping[str, str] | None,
        no_cache: bool,
        secrets: Mapping[str, bytes],
    ) -> Iterator[dict[str, Any]]:
        """Podman's build endpoint takes `secrets=["id=X,src=FILE"]` with FILE at the top of
        the uploaded context; a `.dockerignore` keeps those files out of `COPY . /src`.
        Docker's Engine API build (the classic builder) has no secret mounts."""
        if self.name != "podman":
            raise BuildError(
                "build secrets (--secret) need Podman: Docker's Engine API build has no secret "
                "mounts. Point DOCKER_HOST at a Podman service, or pass the value another way"
            )
        names = {}
        for secret_id, value in secrets.items():
            name = f".cog-secret-{secrets_safe(secret_id)}"
            with open(os.path.join(context_dir, name), "wb") as f:
                f.write(value)
            os.chmod(os.path.join(context_dir, name), 0o600)
            names[secret_id] = name
        with open(os.path.join(context_dir, ".dockerignore"), "a", encoding="utf-8") as f:
            f.write("".join(f"{n}\n" for n in names.values()) + ".dockerignore\n")
        archive = docker.utils.tar(context_dir, exclude=[], dockerfile=(dockerfile, None))
        api = self.client.api
        params: dict[str, Any] = {
            "dockerfile": dockerfile,
            "t": tag,
            "labels": json.dumps(dict(labels or {})),
            "nocache": no_cache,
            "rm": True,
            "forcerm": True,
            "platform": "linux/amd64",
            "secrets": json.dumps([f"id={i},src={n}" for i, n in names.items()]),
        }
        try:
            response = api._post(
                api._url("/build"),
                data=archive,
                params=params,
                headers={"Content-Type": "application/tar"},
                stream=True,
            )
            yield from api._stream_helper(response, decode=True)
        finally:
            archive.close()
            for name in names.values():
                os.unlink(os.path.join(context_dir, name))

    def image_id(self, ref: str) -> str | None:
        try:
            return str(self.client.images.get(ref).id)
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as exc:
            raise EngineError(f"cannot inspect image {ref}: {_api_message(exc)}") from exc

    def image_labels(self, ref: str) -> dict[str, str]:
        try:
            image = self.client.images.get(ref)
        except docker.errors.ImageNotFound as exc:
            raise EngineError(f"image {ref} not found") from exc
        config = image.attrs.get("Config") or {}
        return dict(config.get("Labels") or {})

    def tag(self, image: str, ref: str) -> None:
        repository, _, tag = _split_ref(ref)
        if not self.client.api.tag(image, repository, tag or "latest"):
            raise EngineError(f"cannot tag {image} as {ref}")

    def remove_image(self, ref: str) -> None:
        try:
            self.client.images.remove(ref, force=True)
        except docker.errors.ImageNotFound:
            pass

    def pull(self, ref: str) -> str:
        repository, _, tag = _split_ref(ref)
        try:
            image = self.client.images.pull(repository, tag=tag or "latest")
        except docker.errors.APIError as exc:
            raise EngineError(f"cannot pull {ref}: {_api_message(exc)}") from exc
        return str(image.id)

    def push(self, ref: str, on_line: Callable[[str], None] | None = None) -> None:
        repository, _, tag = _split_ref(ref)
        try:
            for event in self._push_events(repository, tag or "latest"):
                if "error" in event or "errorDetail" in event:
                    message = event.get("error") or (event.get("errorDetail") or {}).get("message")
                    raise EngineError(f"push of {ref} failed: {message}")
                if on_line is not None:
                    status = event.get("status") or event.get("stream")
                    if status:
                        progress = event.get("progress") or ""
                        layer = event.get("id") or ""
                        on_line(" ".join(p for p in (layer, str(status), progress) if p) + "\n")
        except docker.errors.APIError as exc:
            raise EngineError(f"push of {ref} failed: {_api_message(exc)}") from exc

    def _push_events(self, repository: str, tag: str) -> Iterator[dict[str, Any]]:
        """The SDK's push, plus `tlsVerify=false` for a loopback registry on Podman: Docker
        lets 127.0.0.0/8 registries speak plain HTTP by default, Podman's API needs asking."""
        api = self.client.api
        registry, _ = docker.auth.resolve_repository_name(repository)
        if self.name != "podman" or _as_localhost(registry) is None:
            return api.push(repository, tag=tag, stream=True, decode=True)  # type: ignore[no-any-return]
        headers = {}
        header = docker.auth.get_config_header(api, registry)
        if header:
            headers["X-Registry-Auth"] = header
        response = api._post_json(
            api._url("/images/{0}/push", repository),
            None,
            headers=headers,
            stream=True,
            params={"tag": tag, "tlsVerify": "false"},
        )
        api._raise_for_status(response)
        return api._stream_helper(response, decode=True)  # type: ignore[no-any-return]

    def login(self, registry: str, username: str, password: str) -> str:
        """Check the credentials with the engine, then store them where Docker's tools and
        this SDK look (see `cog.engine.credentials`); returns where they went."""
        try:
            self._check_login(registry, username, password)
        except docker.errors.APIError as exc:
            raise EngineError(f"login to {registry} failed: {_api_message(exc)}") from exc
        return store_credentials(registry, username, password)

    def _check_login(self, registry: str, username: str, password: str) -> None:
        try:
            self.client.login(username=username, password=password, registry=registry, reauth=True)
        except docker.errors.APIError as exc:
            # Podman's /auth ignores `insecure` in registries.conf and tries HTTPS only, except
            # for `localhost:PORT`, which it treats as a local test registry (HTTP allowed).
            local = _as_localhost(registry)
            if self.name != "podman" or local is None or "HTTPS client" not in str(exc):
                raise
            self.client.login(username=username, password=password, registry=local, reauth=True)

    # Containers ---------------------------------------------------------------------------

    def run_detached(
        self,
        image: str,
        *,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        ports: Mapping[int, tuple[str, int | None]] | None = None,
        mounts: Mapping[str, str] | None = None,
        workdir: str | None = None,
        shm_size: str | None = None,
        extra_hosts: Mapping[str, str] | None = None,
        gpus: str | None = None,
        stdin_open: bool = False,
    ) -> RunningContainer:
        """Start a container; `ports` maps container port -> (host interface, host port or
        None for a free one); `mounts` maps host path -> container path (read-write)."""
        device_requests = _device_requests(gpus)
        try:
            container = self.client.containers.run(
                image,
                command=list(command) if command is not None else None,
                environment=dict(env or {}),
                ports={f"{p}/tcp": binding for p, binding in (ports or {}).items()},
                volumes={h: {"bind": c, "mode": "rw"} for h, c in (mounts or {}).items()},
                working_dir=workdir,
                shm_size=shm_size,
                extra_hosts=dict(extra_hosts or {}) or None,
                device_requests=device_requests,
                stdin_open=stdin_open,
                detach=True,
            )
        except docker.errors.ImageNotFound as exc:
            raise EngineError(f"image {image} not found; build it with `cog build`") from exc
        except docker.errors.APIError as exc:
            raise EngineError(
                f"cannot start a container from {image}: {_api_message(exc)}"
            ) from exc
        return RunningContainer(container)

    def run_attached(
        self,
        image: str,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        ports: Mapping[int, tuple[str, int | None]] | None = None,
        mounts: Mapping[str, str] | None = None,
        workdir: str | None = None,
        gpus: str | None = None,
    ) -> int:
        """Run a command with our stdin, stdout and stderr attached (a TTY when stdin is a
        terminal) and return its exit code; the container is removed afterwards."""
        tty = sys.stdin.isatty() and sys.stdout.isatty()
        try:
            container = self.client.containers.create(
                image,
                command=list(command),
                environment=dict(env or {}),
                ports={f"{p}/tcp": binding for p, binding in (ports or {}).items()},
                volumes={h: {"bind": c, "mode": "rw"} for h, c in (mounts or {}).items()},
                working_dir=workdir,
                device_requests=_device_requests(gpus),
                stdin_open=True,
                tty=tty,
            )
        except docker.errors.APIError as exc:
            raise EngineError(
                f"cannot create a container from {image}: {_api_message(exc)}"
            ) from exc
        try:
            attached = self.client.api.attach_socket(
                container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            sock: socket.socket = attached._sock
            container.start()
            with _raw_terminal(tty):
                threading.Thread(
                    target=_pump_stdin, args=(sock, sys.stdin.buffer), daemon=True
                ).start()
                _copy_output(sock, tty)
            return int(container.wait().get("StatusCode", 1))
        except docker.errors.APIError as exc:
            raise EngineError(
                f"running {command[0]} in {image} failed: {_api_message(exc)}"
            ) from exc
        finally:
            try:
                container.remove(force=True)
            except docker.errors.APIError:
                pass


def copy_link_supported(name: str, version: str) -> bool:
    if name != "podman":
        return True
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (4, 6)


def _as_localhost(registry: str) -> str | None:
    """`127.0.0.1:5001` or `[::1]:5001` -> `localhost:5001`; None for other registries."""
    address = registry.split("://", 1)[-1].rstrip("/")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return None
    if host.strip("[]") in ("127.0.0.1", "::1", "localhost"):
        return f"localhost:{port}"
    return None


def secrets_safe(secret_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", secret_id)


def _device_requests(gpus: str | None) -> list[docker.types.DeviceRequest] | None:
    if not gpus:
        return None
    count = int(gpus) if gpus.isdigit() else -1
    return [docker.types.DeviceRequest(count=count, capabilities=[["gpu"]])]


@contextlib.contextmanager
def _raw_terminal(enabled: bool) -> Iterator[None]:
    """Pass keystrokes through unprocessed while attached to a TTY container."""
    if not enabled:
        yield
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _pump_stdin(sock: socket.socket, source: IO[bytes]) -> None:
    try:
        while True:
            data = source.read1(65536) if hasattr(source, "read1") else source.read(65536)
            if not data:
                break
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
    except (OSError, ValueError):
        return


def _copy_output(sock: socket.socket, tty: bool) -> None:
    """Attached output: raw bytes with a TTY, else 8-byte-header frames (1 stdout, 2 stderr)."""
    sinks = {1: sys.stdout.buffer, 2: sys.stderr.buffer}
    pending = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        if tty:
            sinks[1].write(chunk)
            sinks[1].flush()
            continue
        pending += chunk
        while len(pending) >= 8:
            kind, size = pending[0], struct.unpack(">I", pending[4:8])[0]
            if len(pending) < 8 + size:
                break
            sink = sinks.get(kind, sinks[1])
            sink.write(pending[8 : 8 + size])
            sink.flush()
            pending = pending[8 + size :]


def _split_ref(ref: str) -> tuple[str, str, str | None]:
    """`host:5000/name:tag` -> ("host:5000/name", ":", "tag"); digests are left whole."""
    if "@" in ref:
        return ref, "", None
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ":", ref[colon + 1 :]
    return ref, "", None


def _api_message(exc: docker.errors.APIError) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc)


def _failure_message(message: str, step_log: list[str]) -> str:
    step = next((line.strip() for line in step_log if _STEP_LINE.match(line)), None)
    where = f" at {step}" if step else ""
    tail = "".join(step_log[-40:]).rstrip()
    text = f"Image build failed{where}: {message.strip()}"
    if tail:
        text += "\n\nOutput of the failing step:\n" + tail
    return text
