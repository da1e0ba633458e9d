"""The side-by-side load benchmark: this Cog server against the reference (`python -m benchmarks.load`)."""
