"""The messages between the front and its workers, and the one codec that knows their bytes.

Each message is one header frame: the 8-byte prefix of `cog._native.frames` (version, kind,
flags, tag) followed by a msgpack body decoded straight into the typed struct of its kind.
The tag routes a message without decoding its body: for prediction traffic it is the run's
number (never 0), for health checks the request number, and 0 means "no prediction" (setup
and process logs). Files in output trees travel as the msgpack extension type `FILE_EXT`,
decoded into `FileRef`, so no user value can be mistaken for a file.
"""

from __future__ import annotations

from typing import Any

import msgspec

from cog._native.select import native

# Front -> worker.
PREDICT = 1
CANCEL = 2
HEALTHCHECK = 3
SHUTDOWN = 4

# Worker -> front.
LOG = 10
OUTPUT = 11
METRIC = 12
DONE = 13
READY = 14
HEALTH = 15
HELLO = 16  # first message on a worker's control channel: the front can now address it

#: msgpack extension code of a file in an output tree (payload: the UTF-8 path).
FILE_EXT = 1


class FileRef(msgspec.Struct, frozen=True):
    """A file in an output tree: the front turns it into a data URL or uploads it."""

    path: str


class Predict(msgspec.Struct, array_like=True):
    id: str
    inputs: dict[str, Any]
    context: dict[str, str]


class Log(msgspec.Struct, array_like=True):
    source: str  # "stdout" | "stderr"
    data: str


class Metric(msgspec.Struct, array_like=True):
    name: str
    value: Any
    mode: str


class Done(msgspec.Struct, array_like=True):
    status: str  # "succeeded" | "failed" | "canceled"
    output: Any
    error: str | None
    metrics: dict[str, Any]
    is_iterator: bool
    predict_time: float


class Ready(msgspec.Struct, array_like=True):
    """Setup finished: `error` is None on success, else the message that failed it."""

    error: str | None
    slots: int
    schema: dict[str, Any] | None
    streaming: bool
    is_async: bool
    has_healthcheck: bool


class Health(msgspec.Struct, array_like=True):
    error: str | None


def file_ext(path: str) -> msgspec.msgpack.Ext:
    """The wire form of an output file."""
    return msgspec.msgpack.Ext(FILE_EXT, path.encode())


def _ext_hook(code: int, data: memoryview) -> Any:
    if code == FILE_EXT:
        return FileRef(bytes(data).decode())
    raise msgspec.ValidationError(f"unknown msgpack extension type {code}")


def front_codec() -> Any:
    """Codec of the front: decodes what workers send."""
    frames = native("frames")
    return frames.FrameCodec(
        {
            LOG: msgspec.msgpack.Decoder(Log),
            OUTPUT: msgspec.msgpack.Decoder(ext_hook=_ext_hook),
            METRIC: msgspec.msgpack.Decoder(Metric),
            DONE: msgspec.msgpack.Decoder(Done, ext_hook=_ext_hook),
            READY: msgspec.msgpack.Decoder(Ready),
            HEALTH: msgspec.msgpack.Decoder(Health),
            HELLO: msgspec.msgpack.Decoder(type(None)),
        }
    )


def worker_codec() -> Any:
    """Codec of a worker: decodes what the front sends."""
    frames = native("frames")
    nothing = msgspec.msgpack.Decoder(type(None))
    return frames.FrameCodec(
        {
            PREDICT: msgspec.msgpack.Decoder(Predict),
            CANCEL: nothing,
            HEALTHCHECK: nothing,
            SHUTDOWN: nothing,
        }
    )
