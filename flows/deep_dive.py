"""The `deep-dive` phase: draw, announce and book a deep dive at short notice, in one run."""
from datetime import date
from typing import Annotated

from prefect import flow
from pydantic import Field

from auditcycle.clock import Month
from auditcycle.flows.common import phase
from auditcycle.models.enums import Cohort
from auditcycle.tasks.adhoc import book_adhoc_meetings, draw_adhoc_sample, queue_adhoc_notices
from auditcycle.tasks.delivery import deliver_outbox


@flow(name="deep-dive", persist_result=False, log_prints=False)
def deep_dive(
    theme: Annotated[str, Field(min_length=1, max_length=200)],
    size: Annotated[int, Field(ge=1)],
    due: date,
    cohort: Cohort | None = None,
    team: str | None = None,
    reason: str | None = None,
    now: str | None = None,
    by: str | None = None,
) -> dict:
    """Draw a deep dive under the monthly rules, notify everyone involved and book its meetings, once.

    Args:
        theme: What the deep dive looks at, e.g. "Neglect in child protection plans".
        size: How many audits to draw, spread across teams in proportion to caseload.
        due: The day the audits are due: a working day after today, within 20 working days.
        cohort: Draw only children in this cohort (empty: every cohort).
        team: Draw only children in this team, by name (empty: every team).
        reason: Why the deep dive was called, kept with the cycle.
        now: The clock for every decision, ISO date-time (empty: the current time).
        by: The staff id of the QA team member asking for it.
    """
    with phase("deep-dive", str(Month.of(due)), now) as (_, clock, record):
        drawn = draw_adhoc_sample(kind="deep_dive", theme=theme, size=size, due=due, now=clock,
                                  cohort=cohort.value if cohort else None, team=team, reason=reason,
                                  domains=None, by=by)
        # Each task commits its own work, so a re-run after a failure finishes what was left undone.
        record.summary = {**drawn, "queued": queue_adhoc_notices(drawn["cycle"], clock),
                          **book_adhoc_meetings(drawn["cycle"], clock), "delivery": deliver_outbox()}
    return record.summary
