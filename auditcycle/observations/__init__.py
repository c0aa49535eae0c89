"""Observations of practice: assigned, reminded and recorded."""
