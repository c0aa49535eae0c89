"""Draw, announce and book an ad-hoc cycle: a deep dive or a dip sample."""
from dataclasses import asdict
from datetime import date

from prefect import task

from auditcycle.booking.meetings import book
from auditcycle.core.context import build_context
from auditcycle.models.enums import Cohort, CycleKind
from auditcycle.notices.queue import queue_notices
from auditcycle.sampling.adhoc import AdhocRequest, draw_adhoc, get_adhoc_cycle
from auditcycle.storage.db import session_scope
from auditcycle.tasks.common import TASK_OPTIONS


@task(name="draw-adhoc-sample", **TASK_OPTIONS)
def draw_adhoc_sample(kind: str, theme: str, size: int, due: date, now: str, cohort: str | None = None,
                      team: str | None = None, reason: str | None = None, domains: list[str] | None = None,
                      by: str | None = None) -> dict:
    """Draw and allocate an ad-hoc sample once, returning its reference and counts only."""
    ctx = build_context(now)
    request = AdhocRequest(kind=CycleKind(kind), theme=theme, size=size, due=due,
                           cohort=Cohort(cohort) if cohort else None, team=team, reason=reason,
                           domains=tuple(domains or ()))
    with session_scope() as session:
        summary = draw_adhoc(session, ctx, request=request, by=by)
    return asdict(summary)


@task(name="queue-adhoc-notices", **TASK_OPTIONS)
def queue_adhoc_notices(cycle: str, now: str) -> int:
    """Queue notices for an ad-hoc cycle's audits not yet notified; return how many messages were queued."""
    ctx = build_context(now)
    with session_scope() as session:
        return queue_notices(session, ctx, cycle=get_adhoc_cycle(session, cycle))


@task(name="book-adhoc-meetings", **TASK_OPTIONS)
def book_adhoc_meetings(cycle: str, now: str) -> dict:
    """Book every meeting an ad-hoc cycle's notified audits still need, from today to its due date."""
    ctx = build_context(now)
    with session_scope() as session:
        summary = book(session, ctx, cycle=get_adhoc_cycle(session, cycle))
    return {"booked": summary.booked, "unbooked": len(summary.unbooked), "messages": summary.messages}
