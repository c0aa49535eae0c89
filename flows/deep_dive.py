"""The `deep-dive` phase: draw, announce and book a deep dive at short notice, in one run."""
# The Prefect UI builds its form from each flow's own parameter list and docstring, so the two ad-hoc
# flows spell theirs out; their body is one, flows.common.adhoc_phase.
# pylint: disable=duplicate-code
from datetime import date
from typing import Annotated

from prefect import flow
from pydantic import Field

from auditcycle.flows.common import adhoc_phase
from auditcycle.models.enums import Cohort


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
    return adhoc_phase("deep-dive", kind="deep_dive", theme=theme, size=size, due=due, cohort=cohort, team=team,
                       reason=reason, domains=None, now=now, by=by)
