"""Benchmarks of a month's phases against the raw limits of the machine (kept out of `make test`)."""
