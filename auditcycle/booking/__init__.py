"""Booking: the meetings each audit needs, their slots and their invites."""
