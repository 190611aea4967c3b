"""Benchmarks: each prints a RESULT line last (see the README's Development section)."""
