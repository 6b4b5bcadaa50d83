"""Benchmark harness: `python bench/run.py --help` (see bench/README.md)."""
