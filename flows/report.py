"""The `report` phase: publish the monthly Quality Assurance report."""
from prefect import flow

from auditcycle.context import build_context
from auditcycle.flows.common import phase
from auditcycle.phases import scheduled_report_due
from auditcycle.tasks.delivery import deliver_outbox
from auditcycle.tasks.report import publish_report


@flow(name="report", persist_result=False, log_prints=False)
def report(month: str | None = None, now: str | None = None, reissue: bool = False) -> dict:
    """Write the report (HTML, PDF, CSV, restricted annex) and mail the edition due, once.

    A scheduled run (no month given) publishes only on the configured working day of the month.
    """
    if month is None and not scheduled_report_due(build_context(now)):
        return {"skipped": "not the configured report day"}
    with phase("report", month, now) as (month, now, record):
        record.summary = {**publish_report(month, now, reissue), "delivery": deliver_outbox()}
    return record.summary
