"""Queue the month's notices."""
from prefect import task

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import UserError
from auditcycle.notices.queue import queue_notices
from auditcycle.sampling.cycle import monthly_cycle
from auditcycle.storage.db import session_scope
from auditcycle.tasks.common import TASK_OPTIONS


@task(name="queue-notices", **TASK_OPTIONS)
def queue_month_notices(month: str, now: str) -> int:
    """Queue notices for the month's audits not yet notified; return how many messages were queued."""
    ctx = build_context(now)
    with session_scope() as session:
        cycle = monthly_cycle(session, Month.parse(month))
        if cycle is None:
            raise UserError(f"no sample has been drawn for {month}: run `auditcycle run sample --month {month}` first")
        return queue_notices(session, ctx, cycle=cycle)
