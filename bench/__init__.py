"""Standalone benchmarks (not tests): run as scripts or with ``python -m bench.<name>``."""
