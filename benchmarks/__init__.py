"""Micro benchmarks (pytest-benchmark) and the side-by-side load benchmark."""
