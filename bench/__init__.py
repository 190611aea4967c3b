"""Benchmarks: each prints a RESULT line last (see docs/development.md)."""
