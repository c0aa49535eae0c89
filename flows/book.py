"""The `book` phase: book learning conversations, family calls and IRO/CP chair conversations."""
from prefect import flow

from auditcycle.flows.common import phase, scheduled_skip
from auditcycle.tasks.booking import book_month_meetings
from auditcycle.tasks.delivery import deliver_outbox


@flow(name="book", persist_result=False, log_prints=False)
def book(month: str | None = None, now: str | None = None) -> dict:
    """Book the month's meetings and queue their invites in one transaction, then send them."""
    if skipped := scheduled_skip("book", month, now):
        return skipped
    with phase("book", month, now) as (month, now, record):
        record.summary = {**book_month_meetings(month, now), "delivery": deliver_outbox()}
    return record.summary
