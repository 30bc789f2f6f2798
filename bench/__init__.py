"""Benchmarks: `python -m bench NAME` runs bench/NAME.py, printing our figures beside a named peer."""
