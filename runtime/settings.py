"""Server settings: Cog's command-line flags and environment variables, read once at start.

Every knob the HTTP front and the worker pool read lives here, so the rest of the runtime
never looks at `os.environ` or `sys.argv`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

MAX_BODY_BYTES = 256 * 1024 * 1024
#: msgpack bodies: a 1 GiB array plus its .npy header and the envelope.
MAX_BINARY_BODY_BYTES = (1 << 30) + (1 << 20)
#: Inputs at least this large travel to the worker through shared memory (see
#: docs/zero-copy.md: below it, a copy inline in the message is as fast).
SLAB_THRESHOLD = 64 << 10
SLAB_SIZE = 64 << 20
SLAB_MAX_SIZE = 4 << 30
READY_FILE = "/var/run/cog/ready"


class SettingsError(Exception):
    """A flag, environment variable or cog.yaml value that cannot be used; the message says why."""


@dataclass(frozen=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 5000
    upload_url: str | None = None
    await_explicit_shutdown: bool = False
    mode: Literal["predict", "train"] = "predict"
    predict_ref: str | None = None
    train_ref: str | None = None
    project_dir: str = "."
    #: COG_MAX_CONCURRENCY; None lets the runner's @concurrent / cog.yaml decide.
    max_concurrency: int | None = None
    #: COG_WORKERS: opt-in several worker processes for CPU-bound sync models.
    workers: int = 1
    setup_timeout: float | None = None
    stream_history_capacity: int = 1024
    throttle_interval: float = 0.5
    webhook_auth_token: str | None = None
    #: COG_OPENAPI_SCHEMA, else `<project>/.cog/openapi_schema.json` when it exists.
    openapi_schema_path: str | None = None
    kubernetes: bool = False
    ready_file: str = READY_FILE
    user_agent: str | None = None
    #: COG_MAX_BODY_BYTES: JSON request bodies.
    max_body_bytes: int = MAX_BODY_BYTES
    #: COG_MAX_BINARY_BODY_BYTES: msgpack request bodies (read into shared memory).
    max_binary_body_bytes: int = MAX_BINARY_BODY_BYTES
    #: COG_SLAB_THRESHOLD, COG_SLAB_SIZE, COG_SLAB_MAX_SIZE: shared memory for large inputs.
    slab_threshold: int = SLAB_THRESHOLD
    slab_size: int = SLAB_SIZE
    slab_max_size: int = SLAB_MAX_SIZE
    #: --shm-regions / COG_SHM_REGIONS=1: clients on this host may register shared memory.
    shm_regions: bool = False
    #: COG_QUEUE_SIZE: opt-in bounded wait for a slot instead of an immediate 409.
    queue_size: int = 0
    #: COG_PREDICT_TIMEOUT: opt-in per-prediction time limit in seconds.
    predict_timeout: float | None = None
    #: COG_PREDICTION_HISTORY: finished predictions kept for `GET /predictions/{id}`.
    history_size: int = 100

    @property
    def train_enabled(self) -> bool:
        """`/trainings` is served by a server started in train mode (`--x-mode train`)."""
        return self.mode == "train"


def _flag_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cog.server.http", description="Serve a Cog model over HTTP."
    )
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    parser.add_argument("--upload-url", default=None, help="PUT output files under this URL")
    # Cog parses this with type=bool: any non-empty string, even "false", means true.
    parser.add_argument(
        "--await-explicit-shutdown",
        type=lambda value: bool(value),
        default=False,
        help="ignore SIGTERM; stop only on POST /shutdown or SIGINT",
    )
    parser.add_argument("--x-mode", dest="mode", choices=["predict", "train"], default="predict")
    parser.add_argument("--threads", type=int, default=None, help="accepted for compatibility")
    parser.add_argument("-v", "--verbose", action="store_true", help="accepted for compatibility")
    parser.add_argument(
        "--shm-regions",
        action="store_true",
        help="let clients on this host register shared-memory regions (POST /shm/regions)",
    )
    return parser


def settings_from(
    argv: Sequence[str], environ: Mapping[str, str], project_dir: str | os.PathLike[str] = "."
) -> Settings:
    """Settings from flags and environment; refs fall back to `<project_dir>/cog.yaml`."""
    args = _flag_parser().parse_args(list(argv))
    project = Path(project_dir).resolve()
    predict_ref = environ.get("COG_PREDICT_TYPE_STUB") or None
    train_ref = environ.get("COG_TRAIN_TYPE_STUB") or None
    if predict_ref is None and train_ref is None:
        predict_ref, train_ref = refs_from_cog_yaml(project)
    if args.mode == "train" and train_ref is None:
        raise SettingsError(
            "COG_TRAIN_TYPE_STUB environment variable is not set and cog.yaml has no `train` "
            "entry, but --x-mode train was given"
        )
    if args.mode == "predict" and predict_ref is None:
        raise SettingsError(
            "COG_PREDICT_TYPE_STUB environment variable is not set and cog.yaml has no "
            "`run`/`predict` entry: nothing to serve"
        )
    return Settings(
        host=args.host,
        port=_int(environ, "PORT", 5000, minimum=0),
        upload_url=args.upload_url or None,
        await_explicit_shutdown=args.await_explicit_shutdown,
        mode=args.mode,
        predict_ref=predict_ref,
        train_ref=train_ref,
        project_dir=str(project),
        max_concurrency=_optional_int(environ, "COG_MAX_CONCURRENCY"),
        workers=_int(environ, "COG_WORKERS", 1, minimum=1),
        setup_timeout=_timeout(environ, "COG_SETUP_TIMEOUT"),
        stream_history_capacity=_int(environ, "COG_STREAM_HISTORY_CAPACITY", 1024, minimum=0),
        throttle_interval=_float(environ, "COG_THROTTLE_RESPONSE_INTERVAL", 0.5),
        webhook_auth_token=environ.get("WEBHOOK_AUTH_TOKEN") or None,
        openapi_schema_path=_schema_path(environ, project),
        kubernetes=bool(environ.get("KUBERNETES_SERVICE_HOST")),
        ready_file=environ.get("COG_READY_FILE", READY_FILE),
        user_agent=environ.get("COG_USER_AGENT") or None,
        queue_size=_int(environ, "COG_QUEUE_SIZE", 0, minimum=0),
        predict_timeout=_timeout(environ, "COG_PREDICT_TIMEOUT"),
        history_size=_int(environ, "COG_PREDICTION_HISTORY", 100, minimum=0),
        max_body_bytes=_int(environ, "COG_MAX_BODY_BYTES", MAX_BODY_BYTES, minimum=1),
        max_binary_body_bytes=_int(
            environ, "COG_MAX_BINARY_BODY_BYTES", MAX_BINARY_BODY_BYTES, minimum=1
        ),
        slab_threshold=_int(environ, "COG_SLAB_THRESHOLD", SLAB_THRESHOLD, minimum=1),
        slab_size=_int(environ, "COG_SLAB_SIZE", SLAB_SIZE, minimum=1 << 20),
        slab_max_size=_int(environ, "COG_SLAB_MAX_SIZE", SLAB_MAX_SIZE, minimum=1 << 20),
        shm_regions=args.shm_regions or _flag(environ, "COG_SHM_REGIONS"),
    )


def refs_from_cog_yaml(project: Path) -> tuple[str | None, str | None]:
    """(predict ref, train ref) from cog.yaml's `run`/`predict` and `train`; (None, None) without one."""
    path = project / "cog.yaml"
    if not path.is_file():
        return None, None
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path} must hold a mapping, not {type(data).__name__}")
    predict = data.get("run") or data.get("predict")
    train = data.get("train")
    return (str(predict) if predict else None), (str(train) if train else None)


def _schema_path(environ: Mapping[str, str], project: Path) -> str | None:
    explicit = environ.get("COG_OPENAPI_SCHEMA")
    if explicit:
        return str(Path(explicit) if Path(explicit).is_absolute() else project / explicit)
    bundled = project / ".cog" / "openapi_schema.json"
    return str(bundled) if bundled.is_file() else None


def _int(environ: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r} must be at least {minimum}")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = (environ.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name}={raw!r} must be 1 or 0")


def _optional_int(environ: Mapping[str, str], name: str) -> int | None:
    if not (environ.get(name) or "").strip():
        return None
    return _int(environ, name, 1, minimum=1)


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number of seconds") from None
    if value < 0:
        raise SettingsError(f"{name}={raw!r} must not be negative")
    return value


def _timeout(environ: Mapping[str, str], name: str) -> float | None:
    """Seconds; unset, 0 or unparsable means no limit (Cog ignores a bad COG_SETUP_TIMEOUT)."""
    try:
        value = float(environ.get(name) or 0)
    except ValueError:
        return None
    return value if value > 0 else None
