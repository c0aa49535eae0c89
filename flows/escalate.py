"""The `escalate` phase: remind and escalate audit actions, every working day."""
from prefect import flow

from auditcycle.flows.common import phase, scheduled_skip
from auditcycle.tasks.actions import escalate_actions
from auditcycle.tasks.delivery import deliver_outbox


@flow(name="escalate", persist_result=False, log_prints=False)
def escalate(month: str | None = None, now: str | None = None) -> dict:
    """Queue action reminders and each ladder step due, once, then send them."""
    if skipped := scheduled_skip("escalate", month, now):
        return skipped
    with phase("escalate", month, now) as (month, now, record):
        record.summary = {**escalate_actions(now), "delivery": deliver_outbox()}
    return record.summary
