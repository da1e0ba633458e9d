"""Request and response bodies: the request envelope, JSON codecs, fixed error bodies.

Bodies that never change are encoded once at import; the request envelope is decoded by
msgspec straight into a typed struct.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

encode = msgspec.json.Encoder().encode


class PredictionRequest(msgspec.Struct, omit_defaults=True):
    """Spec 3.3; unknown keys are ignored, `input` is checked against the schema later."""

    id: str | None = None
    input: Any = None
    webhook: str | None = None
    webhook_events_filter: list[str] | None = None
    context: dict[str, str] | None = None
    created_at: str | None = None
    output_file_prefix: str | None = None


_request_decoder = msgspec.json.Decoder(PredictionRequest)
_EMPTY = PredictionRequest()
_AT = re.compile(r" - at `\$\.?(.*)`$")


class BadRequest(Exception):
    """A request the front refuses before any prediction exists: status and JSON body."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(body.decode(errors="replace"))
        self.status = status
        self.body = body


def decode_request(body: bytes) -> PredictionRequest:
    """The envelope of a create request; an empty body means `{}` (spec 3.3)."""
    if not body or body.isspace():
        return _EMPTY
    try:
        return _request_decoder.decode(body)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _AT.search(message)
        loc: list[str | int] = ["body"]
        if match:
            loc.extend(int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", match[1]) if p)
            message = message[: match.start()]
        if loc == ["body", "input"]:
            loc.extend(_input_at_fault(body))
        raise BadRequest(422, detail(loc, message, "type_error")) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise json_error(exc, body) from None


def json_error(exc: Exception, body: bytes | memoryview) -> BadRequest:
    """The 400 for a body msgspec cannot decode as JSON, saying what is wrong with it."""
    if isinstance(exc, UnicodeDecodeError):
        reason = f"it is not valid UTF-8 ({exc.reason})"
    elif isinstance(exc, RecursionError):
        reason = "it nests arrays or objects too deeply"
    elif str(exc) == "Input data was truncated" and _LONE_SURROGATE.search(body):
        # msgspec's words for a \ud800-\udbff escape with no low surrogate after it
        reason = "a \\u escape is a lone UTF-16 surrogate, which is not a character"
    else:
        reason = str(exc)
    return BadRequest(
        400, encode({"detail": f"Failed to parse the request body as JSON: {reason}"})
    )


_LONE_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])")


class _RawInputs(msgspec.Struct):
    input: dict[str, msgspec.Raw] | None = None


def _input_at_fault(body: bytes) -> list[str]:
    """The input whose value failed to decode (only on that error path): msgspec reports
    values of an `Any` field at the field, so each input is decoded again on its own."""
    try:
        inputs = msgspec.json.decode(body, type=_RawInputs).input or {}
    except (msgspec.DecodeError, ValueError, RecursionError):
        return []
    for name, raw in inputs.items():
        try:
            msgspec.json.decode(raw)
        except (msgspec.DecodeError, ValueError, RecursionError):
            return [name]
    return []


def detail(loc: list[str | int], msg: str, kind: str) -> bytes:
    return encode({"detail": [{"loc": loc, "msg": msg, "type": kind}]})


EMPTY_OBJECT = b"{}"
NOT_READY = encode(
    {
        "error": "Setup has not finished yet. Wait until it has finished, or GET /health-check for status.",
        "status": "failed",
    }
)
AT_CAPACITY = encode({"error": "At capacity - all prediction slots busy", "status": "failed"})
NO_STREAMING = encode(
    {
        "error": "This model does not support streaming responses. Add @cog.streaming to predict() to enable SSE."
    }
)
TRAINING_NO_STREAMING = encode({"error": "Training endpoints do not support streaming responses."})
TOO_MANY_SUBSCRIBERS = encode({"error": "Too many stream subscribers"})
NO_SCHEMA = encode({"error": "OpenAPI schema not available"})
SHUTTING_DOWN = encode({"error": "The server is shutting down", "status": "failed"})
NOT_FOUND = encode({"detail": "Not Found"})
METHOD_NOT_ALLOWED = encode({"detail": "Method Not Allowed"})
ID_NOT_UTF8 = encode(
    {"detail": "The ID in the URL is not valid UTF-8 once its percent-escapes are decoded"}
)
