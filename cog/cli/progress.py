"""Build output as it happens: `plain` prints every line, `auto`/`tty` shows steps in colour
with their output dimmed, `quiet` prints nothing (errors still carry the failing step)."""

from __future__ import annotations

import re
import sys

from rich.markup import escape

from cog.cli.console import console

_STEP = re.compile(r"^(?:STEP|Step) \d+/\d+ ?:")


class BuildProgress:
    def __init__(self, mode: str = "auto") -> None:
        if mode == "auto" and (console().is_dumb_terminal or not console().is_terminal):
            mode = "plain"
        self.mode = mode

    def line(self, text: str) -> None:
        if self.mode == "quiet":
            return
        if self.mode == "plain":
            sys.stderr.write(text)
            sys.stderr.flush()
            return
        stripped = text.rstrip("\n")
        if _STEP.match(stripped):
            console().print(f"[bold cyan]{escape(stripped)}[/bold cyan]")
        elif stripped:
            console().print(f"[dim]{escape(stripped)}[/dim]")

    def done(self) -> None:
        sys.stderr.flush()
