"""Commands run as `python -m cog.command.<name>` (Cog's in-image entry points)."""
