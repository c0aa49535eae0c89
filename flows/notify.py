"""The `notify` phase: tell everyone involved, and each auditor their allocation."""
from auditcycle.flows.common import phase_flow
from auditcycle.tasks.notices import queue_month_notices


@phase_flow("notify")
def notify(month: str | None = None, now: str | None = None) -> dict:
    """Queue the month's notices in one transaction, then send them."""
    return {"queued": queue_month_notices(month=month, now=now)}
