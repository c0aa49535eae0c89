"""The demonstration: a synthetic authority, and a month replayed through the real flows."""
