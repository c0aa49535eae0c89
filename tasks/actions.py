"""Escalate overdue audit actions."""
from sqlalchemy.orm import Session

from auditcycle.actions.ladder import EscalationSummary, escalate
from auditcycle.core.context import AppContext
from auditcycle.tasks.common import phase_task


@phase_task("escalate-actions")
def escalate_actions(session: Session, ctx: AppContext) -> EscalationSummary:
    """Remind before, and climb the ladder after, each open action's due date; return counts."""
    return escalate(session, ctx)
