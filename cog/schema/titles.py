"""Default titles, spelled the way Cog's schemas always have (`no_default` -> "No Default")."""

from __future__ import annotations


def title_case(name: str) -> str:
    """pydantic's default field title, kept so clients see the same labels as with Cog."""
    return name.title().replace("_", " ").strip()
