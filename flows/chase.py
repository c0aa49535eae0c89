"""The `chase` phase: remind auditors before and after the due date, every working day."""
from prefect import flow

from auditcycle.flows.common import phase, scheduled_skip
from auditcycle.tasks.chasing import chase_audits
from auditcycle.tasks.delivery import deliver_outbox


@flow(name="chase", persist_result=False, log_prints=False)
def chase(month: str | None = None, now: str | None = None) -> dict:
    """Queue the reminders that have fallen due for this month and earlier open audits, then send them."""
    if skipped := scheduled_skip("chase", month, now):
        return skipped
    with phase("chase", month, now) as (month, now, record):
        record.summary = {**chase_audits(month, now), "delivery": deliver_outbox()}
    return record.summary
