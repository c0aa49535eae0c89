"""The `dip-sample` phase: draw, announce and book a dip sample on a few domains at short notice, in one run."""
from datetime import date
from typing import Annotated

from prefect import flow
from pydantic import Field

from auditcycle.clock import Month
from auditcycle.flows.common import phase
from auditcycle.models.enums import Cohort
from auditcycle.tasks.adhoc import book_adhoc_meetings, draw_adhoc_sample, queue_adhoc_notices
from auditcycle.tasks.delivery import deliver_outbox


@flow(name="dip-sample", persist_result=False, log_prints=False)
def dip_sample(
    theme: Annotated[str, Field(min_length=1, max_length=200)],
    size: Annotated[int, Field(ge=1)],
    due: date,
    domains: Annotated[list[str], Field(min_length=1)],
    cohort: Cohort | None = None,
    team: str | None = None,
    reason: str | None = None,
    now: str | None = None,
    by: str | None = None,
) -> dict:
    """Draw a dip sample under the monthly rules, notify everyone involved and book its meetings, once.

    Args:
        theme: What the dip sample looks at, e.g. "Voice of the child in plans".
        size: How many audits to draw, spread across teams in proportion to caseload.
        due: The day the audits are due: a working day after today, within 20 working days.
        domains: The slugs of the audit domains graded, e.g. ["relationship_direct_work"]; the forms grade only these.
        cohort: Draw only children in this cohort (empty: every cohort).
        team: Draw only children in this team, by name (empty: every team).
        reason: Why the dip sample was called, kept with the cycle.
        now: The clock for every decision, ISO date-time (empty: the current time).
        by: The staff id of the QA team member asking for it.
    """
    with phase("dip-sample", str(Month.of(due)), now) as (_, clock, record):
        drawn = draw_adhoc_sample(kind="dip_sample", theme=theme, size=size, due=due, now=clock,
                                  cohort=cohort.value if cohort else None, team=team, reason=reason,
                                  domains=list(domains), by=by)
        # Each task commits its own work, so a re-run after a failure finishes what was left undone.
        record.summary = {**drawn, "queued": queue_adhoc_notices(drawn["cycle"], clock),
                          **book_adhoc_meetings(drawn["cycle"], clock), "delivery": deliver_outbox()}
    return record.summary
