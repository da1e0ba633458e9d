"""`BaseRunner` (current) and `BasePredictor` (its deprecated alias): optional base classes.

Subclassing is not required; the loader accepts any class with `run()` or `predict()`.
"""

from __future__ import annotations

import inspect
from typing import Any

from cog.scope import Scope, current_scope


class BaseRunner:
    """Base class of a model: override `setup()` (optional) and `run()`."""

    def setup(self, weights: Any = None) -> None:
        """Load the model once, before any prediction."""

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """One prediction; a subclass that only overrides legacy `predict()` is bridged."""
        if user_method_owner(type(self), "predict") is not None:
            return self.predict(*args, **kwargs)
        raise NotImplementedError("run has not been implemented by parent class.")

    def predict(self, *args: Any, **kwargs: Any) -> Any:
        """Legacy name of `run()`; calls it."""
        if user_method_owner(type(self), "run") is None:
            raise NotImplementedError("predict has not been implemented by parent class.")
        return self.run(*args, **kwargs)

    @property
    def scope(self) -> Scope:
        """The current prediction's scope (a no-op scope outside a prediction)."""
        return current_scope()

    def record_metric(self, key: str, value: Any, mode: str = "replace") -> None:
        """Record a metric on the current prediction (no-op outside one)."""
        self.scope.record_metric(key, value, mode=mode)


class BasePredictor(BaseRunner):
    """Deprecated alias of `BaseRunner`."""


def user_method_owner(cls: type, name: str) -> type | None:
    """The class in `cls`'s MRO that defines method `name`, stopping at the SDK bases.

    A mixin listed after BaseRunner therefore does not count as the model's method.
    """
    for owner in inspect.getmro(cls):
        if owner in (BaseRunner, BasePredictor, object):
            return None
        if callable(owner.__dict__.get(name)):
            return owner
    return None
