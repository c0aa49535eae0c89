"""Moderation: the panel's share of the month's audits, its meeting and its decisions."""
