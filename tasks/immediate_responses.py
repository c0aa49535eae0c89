"""Check every open Immediate Response against its deadline, and raise the supervision gaps left undecided."""
from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.immediate_responses.lifecycle import ResponseCheck, check_responses
from auditcycle.immediate_responses.supervision_gaps import GapCheck, raise_undecided_gaps
from auditcycle.tasks.common import phase_task


@phase_task("raise-undecided-gaps")
def raise_overdue_gaps(session: Session, ctx: AppContext) -> GapCheck:
    """Raise the Immediate Response of each supervision gap undecided past its deadline, once; return counts."""
    return raise_undecided_gaps(session, ctx)


@phase_task("check-responses")
def check_open_responses(session: Session, ctx: AppContext) -> ResponseCheck:
    """Remind before, and escalate after, each open deadline; return counts."""
    return check_responses(session, ctx)
