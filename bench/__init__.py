"""Benchmarks: ratios measured in one run against a baseline, written to docs/benchmarks.md."""
