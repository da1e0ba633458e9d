"""Output encoding: turn what a model returned into a JSON-able tree (spec §1.10).

Files (`os.PathLike`, `io.IOBase`) anywhere in the tree go through `file_hook`, whose
return value (a data URL, an upload URL, a reference...) takes their place.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import io
import os
import sys
import typing
from collections.abc import Callable, Iterable, Mapping
from types import GeneratorType, UnionType
from typing import Any

from cog.coder import Coder
from cog.model import BaseModel
from cog.types import Secret

FileHook = Callable[[Any], Any]


def encode_output(value: Any, file_hook: FileHook) -> Any:
    """The JSON-able form of `value`; ValueError for a cog.BaseModel missing a required field."""
    return _encode(value, file_hook)


# Exact types that are already JSON-able: checked first, since outputs are mostly these.
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _encode(value: Any, file_hook: FileHook) -> Any:
    tpe = type(value)
    if tpe in _PLAIN:
        return value
    if tpe is list:
        return [v if type(v) in _PLAIN else _encode(v, file_hook) for v in value]
    if tpe is dict:
        return {
            _key(k): v if type(v) in _PLAIN else _encode(v, file_hook) for k, v in value.items()
        }
    if isinstance(value, enum.Enum):
        return _encode(value.value, file_hook)
    for base in (int, float, str):  # subclasses (numpy.float64 is a float) become plain
        if isinstance(value, base):
            return base(value)
    if isinstance(value, (os.PathLike, io.IOBase)):
        return file_hook(value)
    if isinstance(value, Secret):
        return value.get_secret_value()
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {_key(k): _encode(v, file_hook) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, GeneratorType)):
        return [_encode(v, file_hook) for v in value]
    if isinstance(value, BaseModel) and dataclasses.is_dataclass(value):
        return _encode_cog_model(value, file_hook)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _encode(getattr(value, f.name), file_hook) for f in dataclasses.fields(value)
        }
    pydantic_dump = _pydantic_dump(value)
    if pydantic_dump is not None:
        return _encode(pydantic_dump, file_hook)
    numpy_value = _numpy_value(value)
    if numpy_value is not _NOT_NUMPY:
        return _encode(numpy_value, file_hook)
    coder = Coder.lookup(type(value))
    if coder is not None:
        return _encode(coder.encode(value), file_hook)
    if isinstance(value, BaseModel):
        return {k: _encode(v, file_hook) for k, v in vars(value).items()}
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        return [_encode(v, file_hook) for v in value]
    return value


def _key(key: Any) -> Any:
    if isinstance(key, enum.Enum):
        return key.value
    return key


def _encode_cog_model(value: Any, file_hook: FileHook) -> dict[str, Any]:
    hints = _field_hints(type(value))
    out = {}
    for f in dataclasses.fields(value):
        item = getattr(value, f.name)
        if item is None and not _allows_none(hints.get(f.name, Any)):
            raise ValueError(f"missing value for output field: {f.name}")
        out[f.name] = _encode(item, file_hook)
    return out


_HINTS: dict[type, dict[str, Any]] = {}


def _field_hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # unresolvable forward references: treat fields as Any
            hints = {}
        _HINTS[cls] = hints
    return hints


def _allows_none(tpe: Any) -> bool:
    if tpe is Any or tpe is None or tpe is type(None):
        return True
    if typing.get_origin(tpe) is typing.Annotated:
        return _allows_none(typing.get_args(tpe)[0])
    if typing.get_origin(tpe) in (typing.Union, UnionType):
        return any(_allows_none(a) for a in typing.get_args(tpe))
    return False


def _pydantic_dump(value: Any) -> Any:
    pydantic = sys.modules.get("pydantic")
    if pydantic is None or not isinstance(value, pydantic.BaseModel):
        return None
    return value.model_dump()


_NOT_NUMPY = object()


def _numpy_value(value: Any) -> Any:
    np = sys.modules.get("numpy")
    if np is None:
        return _NOT_NUMPY
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return _NOT_NUMPY
