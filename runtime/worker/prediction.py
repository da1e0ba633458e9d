"""What sync and async predictions share: arguments in, outputs and results out."""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable
from typing import Any

from cog.outputs import encode_output
from cog.runtime import protocol
from cog.runtime.transport import WorkerChannel
from cog.runtime.worker.capture import FdCapture, LogRouter


def error_text(exc: BaseException) -> str:
    """`str(exc)`, with the class name when that says nothing or it is not an Exception."""
    text = str(exc)
    if not isinstance(exc, Exception):
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text or type(exc).__name__


class Reporter:
    """Sends one worker's prediction events to the front."""

    def __init__(
        self,
        channel: WorkerChannel,
        codec: Any,
        router: LogRouter,
        capture: FdCapture,
        output_dir: str,
    ) -> None:
        self._send = channel.send
        self._encode = codec.encode
        self.router = router
        self.capture = capture
        self.output_dir = output_dir  # owned by the pool, removed when it shuts down

    def metric_sender(self, tag: int) -> Callable[[str, Any, str], None]:
        def on_metric(name: str, value: Any, mode: str) -> None:
            self._send(self._encode(protocol.METRIC, tag, protocol.Metric(name, value, mode)))

        return on_metric

    def output(self, tag: int, item: Any) -> None:
        try:
            frame = self._encode(protocol.OUTPUT, tag, self.encode(item))
        except OverflowError:
            raise ValueError(_INT_RANGE) from None  # fails this prediction only
        self._send(frame)

    def done(
        self,
        tag: int,
        status: str,
        output: Any,
        error: str | None,
        metrics: dict[str, Any],
        is_iterator: bool,
        predict_time: float,
    ) -> None:
        body = protocol.Done(status, output, error, metrics, is_iterator, predict_time)
        try:
            frame = self._encode(protocol.DONE, tag, body)
        except (TypeError, ValueError, OverflowError) as exc:  # what the wire cannot carry
            error = _INT_RANGE if isinstance(exc, OverflowError) else error_text(exc)
            body = protocol.Done("failed", None, error, {}, is_iterator, predict_time)
            frame = self._encode(protocol.DONE, tag, body)
        self._send(frame, interruptible=False)  # the run is over: no cancel can raise now

    def encode(self, value: Any, binary: bool = False) -> Any:
        """The output tree for the wire; `binary`: arrays as `.npy` payloads, not lists."""
        if binary:
            return encode_output(npy_outputs(value), self.file_hook)  # msgpack carries NaN
        value = encode_output(value, self.file_hook)
        check_finite(value)
        return value

    def file_hook(self, value: Any) -> Any:
        """Output files travel by path; file objects are written to the output dir first."""
        if isinstance(value, os.PathLike):
            return protocol.file_ext(os.path.abspath(os.fspath(value)))
        if isinstance(value, io.IOBase):
            name = os.path.basename(str(getattr(value, "name", "") or "output")) or "output"
            target = tempfile.mkdtemp(dir=self.output_dir)
            path = os.path.join(target, name)
            if value.seekable():
                value.seek(0)
            with open(path, "wb") as out:
                if isinstance(value, io.TextIOBase):
                    out.write(value.read().encode("utf-8"))
                else:
                    shutil.copyfileobj(value, out)  # type: ignore[misc]
            return protocol.file_ext(path)
        raise TypeError(f"cannot send {type(value).__name__} as an output file")

    def print_traceback(self, exc: BaseException) -> None:
        """A failing prediction's traceback goes to its stderr, hence its logs."""
        traceback.print_exception(exc, file=sys.stderr)


_INT_RANGE = (
    "the output holds an integer outside the 64-bit range: integers must be between "
    "-2**63 and 2**64-1 (return larger numbers as strings)"
)


def check_finite(value: Any) -> None:
    """ValueError when an encoded output holds NaN or an infinity, which JSON cannot carry
    (Cog fails such a prediction; a silent null would lose the value). Scalars cost one
    type check; a list of numbers is summed in C, and only walked when that is not finite."""
    tpe = type(value)
    if tpe is float:
        if value - value != 0.0:  # inf - inf and nan - nan are nan
            raise ValueError(
                f"the output holds the float {value!r}, which JSON cannot represent: "
                "return finite numbers (or None)"
            )
    elif tpe is list:
        try:
            total = sum(value, 0.0)
        except (TypeError, OverflowError):
            pass  # not all numbers
        else:
            if total - total == 0.0:
                return
        for item in value:
            if type(item) in _CONTAINERS_AND_FLOAT:
                check_finite(item)
    elif tpe is dict:
        for item in value.values():
            if type(item) in _CONTAINERS_AND_FLOAT:
                check_finite(item)


_CONTAINERS_AND_FLOAT = frozenset({float, list, dict})


def npy_outputs(value: Any) -> Any:
    """Arrays in an output (top level, lists, tuples, dicts) as `.npy` payloads."""
    np = sys.modules.get("numpy")
    if np is None:
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return value
        out = io.BytesIO()
        np.save(out, value, allow_pickle=False)
        return protocol.npy_ext(out.getvalue())
    if isinstance(value, (list, tuple)):
        return [npy_outputs(v) for v in value]
    if type(value) is dict:
        return {k: npy_outputs(v) for k, v in value.items()}
    return value


def final_metrics(scope: Any) -> dict[str, Any]:
    """The user metrics of a finished prediction, dotted names nested."""
    metrics: dict[str, Any] = scope.metrics.as_dict()
    return metrics


def remove_downloads(paths: list[Any]) -> None:
    """Inputs the worker downloaded for one prediction are deleted when it ends."""
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass
