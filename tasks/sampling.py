"""Draw the month's sample."""
from dataclasses import asdict

from prefect import task

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.models.enums import Cohort
from auditcycle.sampling.cycle import draw
from auditcycle.storage.db import session_scope
from auditcycle.tasks.common import TASK_OPTIONS


@task(name="draw-sample", **TASK_OPTIONS)
def draw_sample(month: str, now: str, theme: str | None = None, cohort: str | None = None,
                team: str | None = None, size: int | None = None, seed: int | None = None) -> dict:
    """Draw and allocate the month's audits once, returning counts only."""
    ctx = build_context(now)
    with session_scope() as session:
        summary = draw(session, ctx, month=Month.parse(month), theme=theme,
                       cohort=Cohort(cohort) if cohort else None, team=team, size=size, seed=seed)
    return asdict(summary)
