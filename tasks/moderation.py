"""Select the month's audits for moderation, and close moderation when its window ends."""
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.moderation.panel import ModerationSummary, select_for_moderation
from auditcycle.sampling.cycle import require_monthly_cycle
from auditcycle.tasks.common import phase_task


@phase_task("select-for-moderation")
def moderate_month(session: Session, ctx: AppContext, month: Month) -> ModerationSummary:
    """Run the moderation selection (idempotently) for an audit month; return counts."""
    return select_for_moderation(session, ctx, cycle=require_monthly_cycle(session, month))
