"""Binary (msgpack) responses: array outputs as `.npy` bytes and files as their contents.

A client that sends `Accept: application/msgpack` gets the prediction envelope as msgpack;
array outputs arrive from the worker as whole `.npy` payloads (`Predict.binary`) and output
files are read into `bin` values instead of becoming base64 data URLs. With `--upload-url`
files are still uploaded and their URLs returned.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from cog.runtime.protocol import FileRef

MSGPACK = "application/msgpack"
HEADERS = [("content-type", MSGPACK)]

_encode = msgspec.msgpack.Encoder().encode


def accepts_msgpack(accept: str | None) -> bool:
    """Whether an `Accept` header asks for msgpack (any entry, parameters ignored)."""
    return accept is not None and MSGPACK in accept.lower()


def body(envelope: dict[str, Any]) -> bytes:
    return _encode(envelope)


async def inline_files(tree: Any) -> Any:
    """The output tree with each file replaced by its bytes (read in a thread)."""
    return await asyncio.get_running_loop().run_in_executor(None, _inline, tree)


def _inline(tree: Any) -> Any:
    if isinstance(tree, FileRef):
        with open(tree.path, "rb") as fh:
            return fh.read()
    if isinstance(tree, list):
        return [_inline(v) for v in tree]
    if isinstance(tree, dict):
        return {k: _inline(v) for k, v in tree.items()}
    return tree
