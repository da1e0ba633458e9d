"""The CLI's side of Cog's HTTP API: wait for READY, read the schema, run one prediction.
The same code talks to a container and to a `--local` server."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from cog.cli.errors import CLIError

POLL_INTERVAL = 0.1


def wait_ready(
    base_url: str,
    *,
    alive: Callable[[], bool],
    timeout: float,
    what: str = "Container",
) -> None:
    """Poll /health-check every 100 ms until READY (spec §3.11)."""
    deadline = time.monotonic() + timeout
    session = requests.Session()
    while True:
        if not alive():
            raise CLIError(f"{what} exited unexpectedly")
        try:
            reply = session.get(f"{base_url}/health-check", timeout=5)
            state = reply.json() if reply.status_code == 200 else {}
        except (requests.RequestException, ValueError):
            state = {}
        status = state.get("status")
        if status in ("READY", "BUSY"):
            return
        if status == "SETUP_FAILED":
            logs = ((state.get("setup") or {}).get("logs") or "").rstrip()
            raise CLIError("Model setup failed" + (f":\n{logs}" if logs else ""))
        if status in ("DEFUNCT", "UNHEALTHY"):
            detail = state.get("user_healthcheck_error") or status
            raise CLIError(f"Model is not healthy: {detail}")
        if time.monotonic() > deadline:
            raise CLIError(
                f"Timed out after {timeout:g} s waiting for the model to become ready "
                "(raise it with --setup-timeout)"
            )
        time.sleep(POLL_INTERVAL)


def fetch_schema(base_url: str) -> dict[str, Any] | None:
    try:
        reply = requests.get(f"{base_url}/openapi.json", timeout=30)
    except requests.RequestException:
        return None
    if reply.status_code != 200:
        return None
    try:
        doc = reply.json()
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def run_prediction(
    base_url: str,
    inputs: Mapping[str, Any],
    *,
    endpoint: str = "predictions",
    context: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """POST one synchronous prediction (or training) and return the response envelope."""
    body: dict[str, Any] = {"input": dict(inputs)}
    if context:
        body["context"] = dict(context)
    try:
        reply = requests.post(f"{base_url}/{endpoint}", json=body, timeout=None)
    except requests.RequestException as exc:
        raise CLIError(f"/{endpoint} call failed: {exc}") from exc
    if reply.status_code == 422:
        raise CLIError(_validation_message(reply))
    if reply.status_code != 200:
        raise CLIError(f"/{endpoint} call returned status {reply.status_code}: {reply.text[:500]}")
    try:
        result = reply.json()
    except ValueError as exc:
        raise CLIError(f"/{endpoint} returned a body that is not JSON: {reply.text[:200]}") from exc
    if not isinstance(result, dict):
        raise CLIError(f"/{endpoint} returned {type(result).__name__}, expected an object")
    return result


def _validation_message(reply: requests.Response) -> str:
    lines = ["The inputs you passed could not be validated:"]
    try:
        detail = reply.json().get("detail") or []
    except (ValueError, AttributeError):
        detail = []
    for item in detail if isinstance(detail, list) else []:
        loc = [str(p) for p in item.get("loc") or []]
        name = loc[-1] if loc else "input"
        lines.append(f"- {name}: {item.get('msg', '')}")
    lines.append("")
    lines.append(
        "You can provide an input with -i. For example:\n\n"
        "    cog predict -i blur=3.5\n\n"
        "If your input is a local file, you need to prefix the path with @ to tell Cog "
        "to read the file contents. For example:\n\n"
        "    cog predict -i path=@image.jpg"
    )
    return "\n".join(lines)
