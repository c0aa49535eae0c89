"""Chasing: reminders of open audits and unbooked learning conversations."""
