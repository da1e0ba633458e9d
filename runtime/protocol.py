"""The messages between the front and its workers, and the one codec that knows their bytes.

Each message is one header frame: the 8-byte prefix of `cog._native.frames` (version, kind,
flags, tag) followed by a msgpack body decoded straight into the typed struct of its kind.
The tag routes a message without decoding its body: for prediction traffic it is the run's
number (never 0), for health checks the request number, and 0 means "no prediction" (setup
and process logs). Files in output trees travel as the msgpack extension type `FILE_EXT`,
decoded into `FileRef`, so no user value can be mistaken for a file.
"""

from __future__ import annotations

from collections.abc import Callable
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
#: msgpack extension code of an input that lives in shared memory (payload: a msgpack
#: `cog.shm.Descriptor`); the worker decodes it into a view of the same pages.
SLAB_EXT = 2
#: msgpack extension code of an array output as a whole `.npy` payload (binary responses).
NPY_EXT = 3


class FileRef(msgspec.Struct, frozen=True):
    """A file in an output tree: the front turns it into a data URL or uploads it."""

    path: str


class Predict(msgspec.Struct, array_like=True):
    id: str
    inputs: dict[str, Any]
    context: dict[str, str]
    #: array outputs as `.npy` payloads (NPY_EXT) rather than nested lists
    binary: bool = False


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


def npy_ext(payload: bytes) -> msgspec.msgpack.Ext:
    """The wire form of an array output sent as `.npy` bytes."""
    return msgspec.msgpack.Ext(NPY_EXT, payload)


def _ext_hook(code: int, data: memoryview) -> Any:
    if code == FILE_EXT:
        return FileRef(bytes(data).decode())
    if code == NPY_EXT:
        return bytes(data)  # a whole .npy payload: msgpack responses send it as is
    raise msgspec.ValidationError(f"unknown msgpack extension type {code}")


def slab_ext(descriptor: Any) -> msgspec.msgpack.Ext:
    """The wire form of an input in shared memory (a `cog.shm.Descriptor`)."""
    return msgspec.msgpack.Ext(SLAB_EXT, msgspec.msgpack.encode(descriptor))


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


def worker_codec(view: Callable[[Any], Any] | None = None) -> Any:
    """Codec of a worker: decodes what the front sends.

    `view` turns a shared-memory `Descriptor` into an array or memoryview over the same
    pages (`cog.shm.SlabMapping.view`); without it such inputs are refused.
    """
    from cog.shm import Descriptor

    frames = native("frames")
    nothing = msgspec.msgpack.Decoder(type(None))
    descriptor = msgspec.msgpack.Decoder(Descriptor)

    def input_hook(code: int, data: memoryview) -> Any:
        if code != SLAB_EXT:
            raise msgspec.ValidationError(f"unknown msgpack extension type {code}")
        if view is None:
            raise msgspec.ValidationError("this worker has no shared-memory mapping")
        return view(descriptor.decode(data))

    return frames.FrameCodec(
        {
            PREDICT: msgspec.msgpack.Decoder(Predict, ext_hook=input_hook),
            CANCEL: nothing,
            HEALTHCHECK: nothing,
            SHUTDOWN: nothing,
        }
    )
