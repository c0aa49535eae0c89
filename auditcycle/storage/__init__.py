"""Storage: engines, sessions and migrations, the audit trail written with every change, and record look-ups."""
