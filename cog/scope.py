"""The per-prediction scope: `current_scope()`, its metrics recorder and request context.

The runtime enters `prediction_scope(...)` around each prediction; the scope lives in a
ContextVar, so asyncio tasks started inside a prediction see it. Outside a prediction
`current_scope()` is a no-op scope that ignores every operation.
"""

from __future__ import annotations

import contextvars
import re
import sys
from collections.abc import Callable
from typing import Any

MAX_NAME_LENGTH = 128
MAX_SEGMENTS = 4
RESERVED_NAMES = ("predict_time",)
RESERVED_PREFIX = "cog."
MODES = ("replace", "incr", "increment", "append")

_SEGMENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")

MetricHook = Callable[[str, Any, str], None]


def validate_metric_name(name: str) -> None:
    """ValueError naming the rule a metric name breaks (spec §1.11)."""
    if not isinstance(name, str):
        raise TypeError(f"Metric name must be a string, got {type(name).__name__}")
    if not name:
        raise ValueError("Metric name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"Metric name {name!r} is {len(name)} characters; the maximum is {MAX_NAME_LENGTH}"
        )
    if name in RESERVED_NAMES:
        raise ValueError(f"Metric name {name!r} is invalid: '{name}' is reserved by the runtime")
    if name.startswith(RESERVED_PREFIX):
        raise ValueError(
            f"Metric name {name!r} is invalid: the 'cog.' prefix is reserved by the runtime"
        )
    if name.startswith("."):
        raise ValueError(f"Metric name {name!r} is invalid: must not start with a dot")
    if name.endswith("."):
        raise ValueError(f"Metric name {name!r} is invalid: must not end with a dot")
    segments = name.split(".")
    if "" in segments:
        raise ValueError(
            f"Metric name {name!r} is invalid: must not contain empty segments (consecutive dots)"
        )
    if len(segments) > MAX_SEGMENTS:
        raise ValueError(
            f"Metric name {name!r} has {len(segments)} dot-separated segments; "
            f"the maximum is {MAX_SEGMENTS}"
        )
    for segment in segments:
        if not _SEGMENT.match(segment):
            raise ValueError(
                f"Metric name {name!r} is invalid: segment {segment!r} must start with a letter "
                "and contain only letters, digits and underscores"
            )
        if segment.endswith("_") or "__" in segment:
            raise ValueError(
                f"Metric name {name!r} is invalid: segment {segment!r} must not have a "
                "leading, trailing or double underscore"
            )


def _value_type(value: Any) -> str:
    for tpe in (bool, int, float, str, list, dict):
        if isinstance(value, tpe):
            return tpe.__name__
    raise TypeError(
        f"Unsupported metric value type: {type(value).__name__}. "
        "Expected bool, int, float, str, list or dict."
    )


def _same_type(old: str, new: str) -> bool:
    """Types stick per key; int and float are one numeric type (an int incremented by 0.5)."""
    numeric = ("int", "float")
    return old == new or (old in numeric and new in numeric)


class MetricsRecorder:
    """The metrics of one prediction, by dotted name, with per-key type stickiness.

    `on_metric(name, value, mode)` sees every accepted change (mode "delete" with value
    None for deletions), so the runtime can forward metrics as they are recorded.
    """

    def __init__(self, on_metric: MetricHook | None = None) -> None:
        self._values: dict[str, Any] = {}
        self._types: dict[str, str] = {}
        self._on_metric = on_metric

    def record(self, key: str, value: Any, mode: str | None = None) -> None:
        """Set, increment or append to a metric; a None value deletes it."""
        mode = "replace" if mode is None else mode
        if mode not in MODES:
            raise TypeError(
                f"Invalid metric mode: {mode!r}. Expected 'replace', 'incr', or 'append'."
            )
        validate_metric_name(key)
        if value is None:
            self.delete(key)
            return
        if mode == "replace":
            new = value
        elif mode in ("incr", "increment"):
            mode = "incr"
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"Increment mode requires int or float, got {type(value).__name__}")
            current = self._values.get(key, 0)
            if isinstance(current, bool) or not isinstance(current, (int, float)):
                raise TypeError(
                    f"Metric {key!r} has type {type(current).__name__}, cannot increment it"
                )
            new = current + value
        else:
            _value_type(value)
            current = self._values.get(key)
            if current is None:
                new = [value]
            elif isinstance(current, list):
                new = [*current, value]
            else:
                new = [current, value]
        new_type = _value_type(new)
        old_type = self._types.get(key)
        if old_type is not None and not _same_type(old_type, new_type) and mode != "append":
            raise TypeError(
                f"Metric {key!r} has type {old_type}, cannot set to {new_type} without deleting first"
            )
        self._values[key] = new
        self._types[key] = new_type
        if self._on_metric is not None:
            self._on_metric(key, value, mode)

    def delete(self, key: str) -> None:
        """Remove a metric (and its type), if recorded."""
        validate_metric_name(key)
        existed = self._values.pop(key, None) is not None
        self._types.pop(key, None)
        if existed and self._on_metric is not None:
            self._on_metric(key, None, "delete")

    def __setitem__(self, key: str, value: Any) -> None:
        self.record(key, value)

    def __delitem__(self, key: str) -> None:
        self.delete(key)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)

    def as_dict(self) -> dict[str, Any]:
        """The metrics as the response shows them: dotted names become nested objects."""
        return nest_metrics(self._values)


def nest_metrics(flat: dict[str, Any]) -> dict[str, Any]:
    """`{"timing.inference": 1}` -> `{"timing": {"inference": 1}}`."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[leaf] = value
    return out


class Scope:
    """What model code reaches through `current_scope()` during a prediction."""

    def __init__(
        self, context: dict[str, str] | None = None, on_metric: MetricHook | None = None
    ) -> None:
        self.context: dict[str, str] = dict(context or {})
        self.metrics = MetricsRecorder(on_metric)

    def record_metric(self, key: str, value: Any, mode: str = "replace") -> None:
        self.metrics.record(key, value, mode=mode)


class _NoopMetrics(MetricsRecorder):
    def record(self, key: str, value: Any, mode: str | None = None) -> None:
        return None

    def delete(self, key: str) -> None:
        return None


class _NoopScope(Scope):
    """The scope outside a prediction: records nothing, context is empty."""

    def __init__(self) -> None:
        self.context = {}
        self.metrics = _NoopMetrics()


_NOOP = _NoopScope()
_current: contextvars.ContextVar[Scope | None] = contextvars.ContextVar(
    "cog_current_scope", default=None
)
# The scope of the one sync prediction running in this process, for threads the model
# starts itself (they do not inherit the ContextVar). Never set for async predictions,
# where several may run at once.
_sync_scope: Scope | None = None


def current_scope() -> Scope:
    """The active prediction's scope, or a no-op scope outside a prediction (never None)."""
    scope = _current.get()
    if scope is None:
        scope = _sync_scope
    return _NOOP if scope is None else scope


class prediction_scope:  # lower case: used like a function, as contextlib.suppress is
    """Make a fresh scope current for the code run inside the block (one per prediction).

    A class rather than a generator-based context manager: it is entered on every
    prediction, and this costs a fraction of contextlib's machinery."""

    __slots__ = ("_owns_sync", "_scope", "_token")

    def __init__(self, context: dict[str, str] | None, on_metric: MetricHook | None = None) -> None:
        self._scope = Scope(context, on_metric)

    def __enter__(self) -> Scope:
        global _sync_scope
        scope = self._scope
        self._token = _current.set(scope)
        self._owns_sync = _sync_scope is None and not _in_event_loop()
        if self._owns_sync:
            _sync_scope = scope
        return scope

    def __exit__(self, *exc: object) -> None:
        global _sync_scope
        _current.reset(self._token)
        if self._owns_sync:
            _sync_scope = None


def _in_event_loop() -> bool:
    asyncio = sys.modules.get("asyncio")  # not imported: no loop can be running
    return asyncio is not None and asyncio._get_running_loop() is not None


def emit_metric(name: str, value: Any) -> None:
    """Deprecated spelling of `current_scope().record_metric(name, value)`."""
    current_scope().record_metric(name, value)
