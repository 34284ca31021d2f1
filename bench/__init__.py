"""Benchmarks measured on this machine; results go into BENCHMARKS.md."""
