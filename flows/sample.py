"""The `sample` phase: draw the month's audit list and allocate auditors."""
from prefect import flow

from auditcycle.flows.common import phase, scheduled_skip
from auditcycle.tasks.delivery import deliver_outbox
from auditcycle.tasks.sampling import draw_sample


@flow(name="sample", persist_result=False, log_prints=False)
def sample(month: str | None = None, now: str | None = None, theme: str | None = None, cohort: str | None = None,
           team: str | None = None, size: int | None = None, seed: int | None = None) -> dict:
    """Draw the audit month's random, stratified sample and allocate auditors, once."""
    if skipped := scheduled_skip("sample", month, now):
        return skipped
    with phase("sample", month, now) as (month, now, record):
        # The draw and any Immediate Response notices commit together; sending follows the commit.
        record.summary = {**draw_sample(month, now, theme, cohort, team, size, seed), "delivery": deliver_outbox()}
    return record.summary
