"""The `observe` phase: assign the month's observations of practice and remind observers."""
from prefect import flow

from auditcycle.flows.common import phase, scheduled_skip
from auditcycle.tasks.delivery import deliver_outbox
from auditcycle.tasks.observations import assign_month_observations


@flow(name="observe", persist_result=False, log_prints=False)
def observe(month: str | None = None, now: str | None = None) -> dict:
    """Assign observations once a month and send any reminders due."""
    if skipped := scheduled_skip("observe", month, now):
        return skipped
    with phase("observe", month, now) as (month, now, record):
        record.summary = {**assign_month_observations(month, now), "delivery": deliver_outbox()}
    return record.summary
