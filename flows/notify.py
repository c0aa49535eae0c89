"""The `notify` phase: tell everyone involved, and each auditor their allocation."""
from prefect import flow

from auditcycle.flows.common import phase, scheduled_skip
from auditcycle.tasks.delivery import deliver_outbox
from auditcycle.tasks.notices import queue_month_notices


@flow(name="notify", persist_result=False, log_prints=False)
def notify(month: str | None = None, now: str | None = None) -> dict:
    """Queue the month's notices in one transaction, then send them."""
    if skipped := scheduled_skip("notify", month, now):
        return skipped
    with phase("notify", month, now) as (month, now, record):
        record.summary = {"queued": queue_month_notices(month, now), "delivery": deliver_outbox()}
    return record.summary
