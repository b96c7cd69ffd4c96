"""Benchmarks, run by `evac bench …` (see bench/README.md)."""
