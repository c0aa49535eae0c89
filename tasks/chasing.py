"""Chase the month's audits and every open audit of earlier months."""
from dataclasses import asdict

from prefect import task

from auditcycle.chasing.reminders import chase, open_cycles
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.sampling.cycle import monthly_cycle
from auditcycle.storage.db import session_scope
from auditcycle.tasks.common import TASK_OPTIONS


@task(name="chase-audits", **TASK_OPTIONS)
def chase_audits(month: str, now: str) -> dict:
    """Queue every reminder that has fallen due, once; return counts."""
    ctx = build_context(now)
    with session_scope() as session:
        cycles = {c.id: c for c in open_cycles(session, ctx)}
        current = monthly_cycle(session, Month.parse(month))
        if current is not None:
            cycles[current.id] = current
        summary = chase(session, ctx, cycles=sorted(cycles.values(), key=lambda c: c.id))
    return asdict(summary)
