"""The schema extension for `numpy.ndarray` inputs and outputs.

Cog has no array type; cogpy marks array inputs so the runtime can hand the model an array
(from nested JSON lists, a `.npy` data URL or URL, or raw bytes on the binary paths):

    {"type": "array", "items": ..., "x-cog-array-type": "ndarray",
     "x-cog-ndarray": {"dtype": "float32", "shape": [null, 3]}}

`dtype`/`shape` appear only when annotated: `Annotated[np.ndarray, np.float32, (None, 3)]`
(a dtype-like and a shape tuple, `None` for a free dimension).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

EXTENSION = "x-cog-ndarray"


@dataclass(frozen=True)
class ArraySpec:
    """What an ndarray annotation promises: numpy dtype name and shape, when given."""

    dtype: str | None = None
    shape: tuple[int | None, ...] | None = None


def spec_from_metadata(metadata: Iterable[Any]) -> ArraySpec:
    """Read dtype and shape hints out of `Annotated[np.ndarray, ...]` extras."""
    import numpy

    dtype: str | None = None
    shape: tuple[int | None, ...] | None = None
    for item in metadata:
        if isinstance(item, tuple):
            if not all(d is None or (type(d) is int and d >= 0) for d in item):
                raise ValueError(f"ndarray shape hint {item!r} must hold sizes (int >= 0) or None")
            shape = item
            continue
        is_dtype_like = isinstance(item, (str, numpy.dtype)) or (
            isinstance(item, type) and issubclass(item, numpy.generic)
        )
        if is_dtype_like:
            try:
                dtype = numpy.dtype(item).name
            except TypeError:
                raise ValueError(f"ndarray dtype hint {item!r} is not a numpy dtype") from None
    return ArraySpec(dtype=dtype, shape=shape)


def ndarray_schema(spec: ArraySpec) -> dict[str, Any]:
    """The JSON schema of an ndarray: nested arrays when the number of dimensions is known."""
    leaf = _leaf(spec.dtype)
    extension: dict[str, Any] = {}
    if spec.dtype is not None:
        extension["dtype"] = spec.dtype
    if spec.shape is not None:
        extension["shape"] = list(spec.shape)
    if spec.shape:
        node = leaf
        for size in reversed(spec.shape):
            node = {"type": "array", "items": node, **_sized(size)}
    else:
        node = {"type": "array", "items": {}}
    node["x-cog-array-type"] = "ndarray"
    node[EXTENSION] = extension
    return node


def _sized(size: int | None) -> dict[str, int]:
    return {} if size is None else {"minItems": size, "maxItems": size}


def _leaf(dtype: str | None) -> dict[str, Any]:
    if dtype is None:
        return {"type": "number"}
    import numpy

    kind = numpy.dtype(dtype).kind
    if kind == "b":
        return {"type": "boolean"}
    if kind in "iu":
        return {"type": "integer"}
    if kind == "f":
        return {"type": "number"}
    return {}
