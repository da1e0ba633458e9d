"""`cog.coder.Coder`: a registry of encoders for custom input and output types."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar


class Coder:
    """A custom type's JSON codec; subclasses found in a model's module are registered.

    `factory(tpe)` returns an instance when the coder handles `tpe`, else None.
    """

    _coders: ClassVar[list[type[Coder]]] = []

    @staticmethod
    def register(coder: type[Coder]) -> None:
        """Add a coder class (idempotent; registration order is lookup order)."""
        if coder not in Coder._coders:
            Coder._coders.append(coder)

    @staticmethod
    def lookup(tpe: Any) -> Coder | None:
        """The first registered coder that handles `tpe`, or None."""
        for cls in Coder._coders:
            coder = cls.factory(tpe)
            if coder is not None:
                return coder
        return None

    @staticmethod
    @abstractmethod
    def factory(tpe: type[Any]) -> Coder | None:
        """A coder for `tpe`, or None when this class does not handle it."""

    @abstractmethod
    def encode(self, x: Any) -> dict[str, Any]:
        """The JSON-able form of a value."""

    @abstractmethod
    def decode(self, x: dict[str, Any]) -> Any:
        """The value back from its JSON-able form."""
