"""Errors of the engine layer; each message says what went wrong and what to do."""


class EngineError(Exception):
    """An engine operation failed (run, push, inspect...)."""


class EngineUnavailable(EngineError):
    """No container engine could be reached or started."""


class BuildError(EngineError):
    """An image build failed; `log` holds the output of the failing step."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log
