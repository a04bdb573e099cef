"""Benchmarks, each a module that prints one JSON object: ``python -m bench.drive``."""
