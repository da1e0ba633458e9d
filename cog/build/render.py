"""Renders the Dockerfile templates in `cog/build/templates/`."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).with_name("templates")


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    # Dockerfile JSON-array and quoted-string forms are JSON strings.
    environment.filters["json"] = json.dumps
    return environment


def render_template(name: str, **values: Any) -> str:
    return _environment().get_template(name).render(**values)
