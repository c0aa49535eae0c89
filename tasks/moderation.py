"""Select the month's audits for moderation, and close moderation when its window ends."""
from dataclasses import asdict

from prefect import task

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import UserError
from auditcycle.moderation.panel import select_for_moderation
from auditcycle.sampling.cycle import monthly_cycle
from auditcycle.storage.db import session_scope
from auditcycle.tasks.common import TASK_OPTIONS


@task(name="select-for-moderation", **TASK_OPTIONS)
def moderate_month(month: str, now: str) -> dict:
    """Run the moderation selection (idempotently) for an audit month; return counts."""
    ctx = build_context(now)
    with session_scope() as session:
        cycle = monthly_cycle(session, Month.parse(month))
        if cycle is None:
            raise UserError(f"no sample has been drawn for {month}: nothing to moderate")
        summary = select_for_moderation(session, ctx, cycle=cycle)
    return asdict(summary)
