"""Book the month's meetings."""
from sqlalchemy.orm import Session

from auditcycle.booking.meetings import book
from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.sampling.cycle import require_monthly_cycle
from auditcycle.tasks.common import phase_task


@phase_task("book-meetings")
def book_month_meetings(session: Session, ctx: AppContext, month: Month) -> dict:
    """Book every meeting the month's notified audits still need; return counts and references."""
    summary = book(session, ctx, cycle=require_monthly_cycle(session, month))
    return {"booked": summary.booked, "unbooked": len(summary.unbooked), "messages": summary.messages}
