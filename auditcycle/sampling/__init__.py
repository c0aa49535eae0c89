"""The sample: draw and allocate fairly, nominations, replacements, withdrawals and ad-hoc cycles."""
