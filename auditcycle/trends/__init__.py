"""Trend scrutiny: the patterns flagged after moderation closes."""
