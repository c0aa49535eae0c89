"""The `retention` phase: erase children's personal fields a configured number of years after their last audit."""
from prefect import flow

from auditcycle.flows.common import phase, scheduled_skip
from auditcycle.tasks.retention import purge_personal_data


@flow(name="retention", persist_result=False, log_prints=False)
def retention(month: str | None = None, now: str | None = None) -> dict:
    """Erase the names, birth dates and family contacts of children whose last audit is past retention, once."""
    if skipped := scheduled_skip("retention", month, now):
        return skipped
    with phase("retention", month, now) as (_month, now, record):
        record.summary = purge_personal_data(now)
    return record.summary
