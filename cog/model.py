"""`cog.BaseModel`: output objects whose subclasses become dataclasses automatically."""

from __future__ import annotations

from dataclasses import dataclass, is_dataclass
from typing import Any


class BaseModel:
    """Subclass to declare a structured output; the subclass is made a `@dataclass`.

    Keyword arguments of the class statement go to `dataclass()`; `auto_dataclass=False`
    opts out (the subclass then handles its own initialisation).
    """

    def __init_subclass__(cls, *, auto_dataclass: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__()
        primary = cls.__bases__[0]
        if not issubclass(primary, BaseModel):
            raise TypeError(f'Primary base class of "{cls.__name__}" must inherit from BaseModel')
        if not auto_dataclass and primary is not BaseModel and _auto(primary):
            raise ValueError(
                f'Primary base class of "{cls.__name__}" ("{primary.__name__}") has '
                f'auto_dataclass=True, but "{cls.__name__}" has auto_dataclass=False. '
                "This creates broken field inheritance."
            )
        for base in cls.__bases__[1:]:
            if is_dataclass(base):
                raise TypeError(
                    f'Cannot mixin dataclass "{base.__name__}" while inheriting from `BaseModel`'
                )
        cls.__cog_auto_dataclass__ = auto_dataclass  # type: ignore[attr-defined]
        if auto_dataclass:
            dataclass(**kwargs)(cls)


def _auto(cls: type) -> bool:
    return bool(getattr(cls, "__cog_auto_dataclass__", False))
