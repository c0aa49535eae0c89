"""Queue the month's notices."""
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.notices.queue import queue_notices
from auditcycle.sampling.cycle import require_monthly_cycle
from auditcycle.tasks.common import phase_task


@phase_task("queue-notices")
def queue_month_notices(session: Session, ctx: AppContext, month: Month) -> int:
    """Queue notices for the month's audits not yet notified; return how many messages were queued."""
    return queue_notices(session, ctx, cycle=require_monthly_cycle(session, month))
