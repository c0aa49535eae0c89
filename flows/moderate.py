"""The `moderate` phase: select audits for moderation after the due date, and close moderation."""
from prefect import flow

from auditcycle.flows.common import phase, scheduled_skip
from auditcycle.tasks.delivery import deliver_outbox
from auditcycle.tasks.learning import follow_up_moderation
from auditcycle.tasks.moderation import moderate_month


@flow(name="moderate", persist_result=False, log_prints=False)
def moderate(month: str | None = None, now: str | None = None) -> dict:
    """Select audits for moderation (adding late forms on re-runs), close it when due, then follow up.

    Following up drafts Make a Difference summaries of good audits and, once moderation has closed,
    runs trend scrutiny and invites everyone involved to the reflective learning session.
    """
    if skipped := scheduled_skip("moderate", month, now):
        return skipped
    with phase("moderate", month, now) as (month, now, record):
        record.summary = {**moderate_month(month, now), **follow_up_moderation(month, now),
                          "delivery": deliver_outbox()}
    return record.summary
