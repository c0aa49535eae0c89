"""The `report` phase: publish the monthly Quality Assurance report."""
from prefect import flow

from auditcycle.flows.common import phase, scheduled_skip
from auditcycle.tasks.delivery import deliver_outbox
from auditcycle.tasks.report import publish_report


@flow(name="report", persist_result=False, log_prints=False)
def report(month: str | None = None, now: str | None = None, reissue: bool = False) -> dict:
    """Write the report (HTML, PDF, CSV, restricted annex) and mail the edition due, once.

    A scheduled run (no month given) publishes only on the configured working day of the month.
    """
    if skipped := scheduled_skip("report", month, now):
        return skipped
    with phase("report", month, now) as (month, now, record):
        record.summary = {**publish_report(month, now, reissue), "delivery": deliver_outbox()}
    return record.summary
