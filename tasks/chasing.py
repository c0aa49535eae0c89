"""Chase the month's audits and every open audit of earlier months."""
from sqlalchemy.orm import Session

from auditcycle.chasing.reminders import ChaseSummary, chase, open_cycles
from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.sampling.cycle import monthly_cycle
from auditcycle.tasks.common import phase_task


@phase_task("chase-audits")
def chase_audits(session: Session, ctx: AppContext, month: Month) -> ChaseSummary:
    """Queue every reminder that has fallen due, once; return counts."""
    cycles = {c.id: c for c in open_cycles(session, ctx)}
    current = monthly_cycle(session, month)
    if current is not None:
        cycles[current.id] = current
    return chase(session, ctx, cycles=sorted(cycles.values(), key=lambda c: c.id))
