"""Exceptions model code sees: cancellation, and the errors the SDK raises."""

from __future__ import annotations


class CancelationException(BaseException):  # noqa: N818 - Cog's public name
    """Raised inside a sync prediction when it is canceled.

    A BaseException (not an Exception) so that a model's `except Exception:` does not
    swallow the cancel by accident.
    """


class CogError(Exception):
    """Base class of the errors the SDK raises about a project or a model."""
