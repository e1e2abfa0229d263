"""Benchmarks: commands that print figures (``certreg bench …``), never run by the tests."""
