"""The serving runtime."""
