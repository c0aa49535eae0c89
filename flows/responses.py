"""The `responses` phase: check Immediate Responses every hour, around the clock."""
from prefect import flow

from auditcycle.flows.common import phase, scheduled_skip
from auditcycle.tasks.delivery import deliver_outbox
from auditcycle.tasks.responses import check_open_responses


@flow(name="responses", persist_result=False, log_prints=False)
def responses(month: str | None = None, now: str | None = None) -> dict:
    """Remind and escalate open Immediate Responses, then send the messages."""
    if skipped := scheduled_skip("responses", month, now):
        return skipped
    with phase("responses", month, now) as (month, now, record):
        record.summary = {**check_open_responses(now), "delivery": deliver_outbox()}
    return record.summary
