"""The error and warning types of cog.yaml handling (spec §5.1 message formats)."""

from __future__ import annotations


class ConfigError(Exception):
    """A cog.yaml problem; the message names the field, the value and what is allowed."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @property
    def message(self) -> str:
        return str(self.args[0])


class ConfigWarning(UserWarning):
    """Something in cog.yaml still works but should change (deprecated keys, mismatches)."""


def invalid(field: str, message: str, value: object = None) -> ConfigError:
    """`invalid <field> "<value>": <message>` or, without a value, `invalid <field>: <message>`."""
    if value is None:
        return ConfigError(f"invalid {field}: {message}", field=field)
    return ConfigError(f'invalid {field} "{value}": {message}', field=field)


def schema_error(field: str, message: str) -> ConfigError:
    """`schema error in "<field>": <message>` (the root is reported as `cog.yaml`)."""
    return ConfigError(f'schema error in "{field or "cog.yaml"}": {message}', field=field)
