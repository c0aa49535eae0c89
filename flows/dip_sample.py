"""The `dip-sample` phase: draw, announce and book a dip sample on a few domains at short notice, in one run."""
# The Prefect UI builds its form from each flow's own parameter list and docstring, so the two ad-hoc
# flows spell theirs out; their body is one, flows.common.adhoc_phase.
# pylint: disable=duplicate-code
from datetime import date
from typing import Annotated

from prefect import flow
from pydantic import Field

from auditcycle.flows.common import adhoc_phase
from auditcycle.models.enums import Cohort


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
    return adhoc_phase("dip-sample", kind="dip_sample", theme=theme, size=size, due=due, cohort=cohort, team=team,
                       reason=reason, domains=list(domains), now=now, by=by)
