"""Book the month's meetings."""
from prefect import task

from auditcycle.booking.meetings import book
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import UserError
from auditcycle.sampling.cycle import monthly_cycle
from auditcycle.storage.db import session_scope
from auditcycle.tasks.common import TASK_OPTIONS


@task(name="book-meetings", **TASK_OPTIONS)
def book_month_meetings(month: str, now: str) -> dict:
    """Book every meeting the month's notified audits still need; return counts and references."""
    ctx = build_context(now)
    with session_scope() as session:
        cycle = monthly_cycle(session, Month.parse(month))
        if cycle is None:
            raise UserError(f"no sample has been drawn for {month}: run `auditcycle run sample --month {month}` first")
        summary = book(session, ctx, cycle=cycle)
    return {"booked": summary.booked, "unbooked": len(summary.unbooked), "messages": summary.messages}
