"""Months of history before the benchmark month, so the report has a 12-month direction of travel (not timed)."""
from datetime import datetime, time

from sqlalchemy import select, update

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.demo.replay import month_calendar, plan_month
from auditcycle.models import Action, Audit, OutboxMessage
from auditcycle.models.enums import ActionStatus, MessageStatus
from auditcycle.moderation.panel import select_for_moderation
from auditcycle.sampling.cycle import draw, monthly_cycle
from auditcycle.storage.db import session_scope
from auditcycle.storage.records import get_audit
from auditcycle.submissions.submit import submit


def _at(ctx, day, hour: int = 9):
    return build_context(datetime.combine(day, time(hour)).isoformat(), settings=ctx.settings)


def seed_history(engine, settings, *, month: Month, months: int, audits: int, seed: int) -> int:
    """Draw, submit and close moderation for each of the months before `month`; return the forms stored.

    Mail they queue is marked sent and their actions done, so the benchmark month's phases see only
    their own work, as they would in a steady state.
    """
    first = month
    for _ in range(months):
        first = first.previous()
    forms = 0
    current = first
    while current != month:
        ctx = build_context(settings=settings, now=None)
        calendar = month_calendar(ctx, current)
        with session_scope(engine) as session:
            draw(session, _at(ctx, calendar.sampling), month=current, size=audits, seed=seed)
        with session_scope(engine) as session:
            cycle = monthly_cycle(session, current)
            refs = list(session.scalars(select(Audit.reference).where(Audit.cycle_id == cycle.id)))
            plan = plan_month(ctx, calendar, refs, seed=seed)
            for p in plan.audits:
                audit = get_audit(session, p.reference)
                submit(session, build_context(p.submit_at.isoformat(), settings=settings), reference=p.reference,
                       data=p.form(audit.child.key_worker_id), by=audit.auditor_id, source="history")
                forms += 1
        with session_scope(engine) as session:
            cycle = monthly_cycle(session, current)
            select_for_moderation(session, _at(ctx, ctx.timescales.next_working_day(calendar.due)), cycle=cycle)
            select_for_moderation(session, _at(ctx, calendar.closure_run), cycle=cycle)
            session.execute(update(OutboxMessage).values(status=MessageStatus.SENT))
            session.execute(update(Action).values(status=ActionStatus.SIGNED_OFF))
        current = current.next()
    return forms
