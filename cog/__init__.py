"""cogpy: Cog's SDK, build tooling and serving runtime."""

from cog._version import __version__

__all__ = ["__version__"]
