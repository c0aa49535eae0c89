"""The notices of an audit month: who is told, and the digests queued when the audits are announced."""
