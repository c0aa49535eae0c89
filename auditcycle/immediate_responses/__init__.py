"""Immediate Responses: raised, answered within the deadline, escalated when not."""
