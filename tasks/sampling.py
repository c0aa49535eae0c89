"""Draw the month's sample."""
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.models.enums import Cohort
from auditcycle.sampling.cycle import DrawSummary, draw
from auditcycle.tasks.common import phase_task


@phase_task("draw-sample")
def draw_sample(session: Session, ctx: AppContext, month: Month, request: str | None = None,
                cohort: str | None = None, team: str | None = None, size: int | None = None,
                seed: int | None = None) -> DrawSummary:
    """Draw and allocate the month's audits once, its theme read from a stored request; return counts only."""
    return draw(session, ctx, month=month, request=request, cohort=Cohort(cohort) if cohort else None, team=team,
                size=size, seed=seed)
