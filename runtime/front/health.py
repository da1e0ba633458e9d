"""The `/health-check` document (spec 3.11) and the Kubernetes readiness file."""

from __future__ import annotations

import logging
import os
import platform
from typing import TYPE_CHECKING, Any

from cog._version import __version__

if TYPE_CHECKING:
    from cog.runtime.pool import WorkerPool

log = logging.getLogger("cog.runtime.front")

VERSION = {"cogpy": __version__, "python_sdk": __version__, "python": platform.python_version()}


def setup_document(pool: WorkerPool) -> dict[str, Any]:
    setup = pool.setup
    doc: dict[str, Any] = {}
    started = getattr(setup, "started_at", None)
    if started is not None:
        doc["started_at"] = started.isoformat()
    completed = getattr(setup, "completed_at", None)
    if completed is not None:
        doc["completed_at"] = completed.isoformat()
    doc["status"] = getattr(setup, "status", None) or "starting"
    logs = getattr(setup, "logs", "")
    if logs:
        doc["logs"] = logs
    return doc


async def health_document(pool: WorkerPool) -> dict[str, Any]:
    """Precedence: failing user healthcheck (UNHEALTHY) > no free slot (BUSY) > pool state."""
    state = pool.state
    doc: dict[str, Any] = {"status": state, "setup": setup_document(pool), "version": VERSION}
    if state != "READY":
        return doc
    error = await pool.healthcheck()
    if error is not None:
        doc["status"] = "UNHEALTHY"
        doc["user_healthcheck_error"] = error
    elif pool.free_slots <= 0:
        doc["status"] = "BUSY"
    return doc


def touch_ready_file(path: str) -> None:
    """Readiness-probe file for Kubernetes; a failure is logged, never fatal."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a"):
            pass
    except OSError as exc:
        log.warning("could not write the readiness file %s: %s", path, exc)
