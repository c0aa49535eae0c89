"""Draw, announce and book an ad-hoc cycle: a deep dive or a dip sample, from its stored request."""
from sqlalchemy.orm import Session

from auditcycle.booking.meetings import book
from auditcycle.core.context import AppContext
from auditcycle.models.enums import CycleKind
from auditcycle.notices.queue import queue_notices
from auditcycle.sampling.adhoc import AdhocStart, AdhocSummary, adhoc_start, draw_adhoc, get_adhoc_cycle
from auditcycle.tasks.common import phase_task


@phase_task("read-adhoc-request")
def read_adhoc_request(session: Session, ctx: AppContext, request: str, kind: str) -> AdhocStart:
    """Return a stored ad-hoc request's month, requester and clock; its text stays in the database."""
    return adhoc_start(session, ctx, request=request, kind=CycleKind(kind))


@phase_task("draw-adhoc-sample")
def draw_adhoc_sample(session: Session, ctx: AppContext, request: str) -> AdhocSummary:
    """Draw and allocate a stored ad-hoc request once, as its requester, returning its reference and counts only."""
    return draw_adhoc(session, ctx, request=request)


@phase_task("queue-adhoc-notices")
def queue_adhoc_notices(session: Session, ctx: AppContext, cycle: str) -> int:
    """Queue notices for an ad-hoc cycle's audits not yet notified; return how many messages were queued."""
    return queue_notices(session, ctx, cycle=get_adhoc_cycle(session, cycle))


@phase_task("book-adhoc-meetings")
def book_adhoc_meetings(session: Session, ctx: AppContext, cycle: str) -> dict:
    """Book every meeting an ad-hoc cycle's notified audits still need, from today to its due date."""
    summary = book(session, ctx, cycle=get_adhoc_cycle(session, cycle))
    return {"booked": summary.booked, "unbooked": len(summary.unbooked), "messages": summary.messages}
