"""The `moderate` phase: select audits for moderation after the due date, and close moderation."""
from prefect import flow

from auditcycle.flows.common import phase
from auditcycle.tasks.delivery import deliver_outbox
from auditcycle.tasks.moderation import moderate_month


@flow(name="moderate", persist_result=False, log_prints=False)
def moderate(month: str | None = None, now: str | None = None) -> dict:
    """Select the month's audits for moderation (adding late forms on re-runs), then send the panel's mail."""
    with phase("moderate", month, now) as (month, now, record):
        record.summary = {**moderate_month(month, now), "delivery": deliver_outbox()}
    return record.summary
