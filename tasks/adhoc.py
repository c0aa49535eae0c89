"""Draw, announce and book an ad-hoc cycle: a deep dive or a dip sample, from its stored request."""
from sqlalchemy.orm import Session

from auditcycle.booking.meetings import book
from auditcycle.core.context import AppContext
from auditcycle.models.enums import CycleKind
from auditcycle.notices.queue import queue_notices
from auditcycle.sampling.adhoc import AdhocSummary, draw_adhoc, get_adhoc_cycle, request_month
from auditcycle.tasks.common import phase_task


@phase_task("read-adhoc-request")
def adhoc_request_month(session: Session, ctx: AppContext, request: str, kind: str) -> str:
    """Return the month ("YYYY-MM") a stored ad-hoc request is filed under; its text stays in the database."""
    return str(request_month(session, request=request, kind=CycleKind(kind)))


@phase_task("draw-adhoc-sample")
def draw_adhoc_sample(session: Session, ctx: AppContext, request: str, by: str | None = None) -> AdhocSummary:
    """Draw and allocate a stored ad-hoc request once, returning its reference and counts only."""
    return draw_adhoc(session, ctx, request=request, by=by)


@phase_task("queue-adhoc-notices")
def queue_adhoc_notices(session: Session, ctx: AppContext, cycle: str) -> int:
    """Queue notices for an ad-hoc cycle's audits not yet notified; return how many messages were queued."""
    return queue_notices(session, ctx, cycle=get_adhoc_cycle(session, cycle))


@phase_task("book-adhoc-meetings")
def book_adhoc_meetings(session: Session, ctx: AppContext, cycle: str) -> dict:
    """Book every meeting an ad-hoc cycle's notified audits still need, from today to its due date."""
    summary = book(session, ctx, cycle=get_adhoc_cycle(session, cycle))
    return {"booked": summary.booked, "unbooked": len(summary.unbooked), "messages": summary.messages}
