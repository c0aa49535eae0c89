"""Check every open Immediate Response against its deadline."""
from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.immediate_responses.lifecycle import ResponseCheck, check_responses
from auditcycle.tasks.common import phase_task


@phase_task("check-responses")
def check_open_responses(session: Session, ctx: AppContext) -> ResponseCheck:
    """Remind before, and escalate after, each open deadline; return counts."""
    return check_responses(session, ctx)
