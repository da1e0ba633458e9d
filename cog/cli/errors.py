"""The CLI's error type: its message is printed on stderr and the exit code is 1."""


class CLIError(Exception):
    """A user-facing failure; the message says what was wrong and how to fix it."""
