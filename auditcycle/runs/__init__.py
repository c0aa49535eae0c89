"""Phase runs: the phases and their schedule, the one-at-a-time lease, the audit trail and fault points."""
