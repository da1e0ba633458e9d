"""Cog's in-image server entry point (`python -m cog.server.http`)."""
