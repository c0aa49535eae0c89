"""Submissions: the audit form, its grades, disputes and the case note it leaves."""
