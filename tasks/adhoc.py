"""Draw, announce and book an ad-hoc cycle: a deep dive or a dip sample."""
from datetime import date

from sqlalchemy.orm import Session

from auditcycle.booking.meetings import book
from auditcycle.core.context import AppContext
from auditcycle.models.enums import Cohort, CycleKind
from auditcycle.notices.queue import queue_notices
from auditcycle.sampling.adhoc import AdhocRequest, AdhocSummary, draw_adhoc, get_adhoc_cycle
from auditcycle.tasks.common import phase_task


@phase_task("draw-adhoc-sample")
def draw_adhoc_sample(session: Session, ctx: AppContext, kind: str, theme: str, size: int, due: date,
                      cohort: str | None = None, team: str | None = None, reason: str | None = None,
                      domains: list[str] | None = None, by: str | None = None) -> AdhocSummary:
    """Draw and allocate an ad-hoc sample once, returning its reference and counts only."""
    request = AdhocRequest(kind=CycleKind(kind), theme=theme, size=size, due=due,
                           cohort=Cohort(cohort) if cohort else None, team=team, reason=reason,
                           domains=tuple(domains or ()))
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
