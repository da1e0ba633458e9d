"""Messages for people on stderr (rich, colour unless NO_COLOR); stdout is for outputs."""

from __future__ import annotations

import os

from rich.console import Console
from rich.markup import escape

_console: Console | None = None


def console() -> Console:
    global _console
    if _console is None:
        _console = Console(stderr=True, highlight=False, no_color=bool(os.environ.get("NO_COLOR")))
    return _console


def info(message: str) -> None:
    console().print(escape(message))


def warn(message: str) -> None:
    console().print(f"[yellow]⚠ {escape(message)}[/yellow]")


def error(message: str) -> None:
    console().print(f"[red]ⅹ {escape(message)}[/red]", soft_wrap=True)
