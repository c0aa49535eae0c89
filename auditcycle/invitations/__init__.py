"""Answers to meeting invites of every kind: "I can't make this time"."""
