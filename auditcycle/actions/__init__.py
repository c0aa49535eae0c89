"""Audit actions: reminded, escalated up the ladder, done, signed off or reopened."""
