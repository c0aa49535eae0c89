"""auditcycle: the monthly case-audit cycle."""
