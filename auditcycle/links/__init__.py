"""Signed links in emails: one act for one person on one record (see auditcycle.links.tokens)."""
