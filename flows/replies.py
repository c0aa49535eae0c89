"""The `replies` phase: read the invite replies in the QA mailbox and do what each asks, once."""
from auditcycle.flows.common import phase_flow
from auditcycle.tasks.replies import read_replies


@phase_flow("replies")
def replies(month: str | None = None, now: str | None = None) -> dict:
    """Read each new message of the QA mailbox, record answers, rebook declined meetings, then send the updates."""
    return read_replies(now=now)
