"""The `responses` phase: check Immediate Responses every hour, around the clock."""
from auditcycle.flows.common import phase_flow
from auditcycle.tasks.immediate_responses import check_open_responses


@phase_flow("responses")
def responses(month: str | None = None, now: str | None = None) -> dict:
    """Remind and escalate open Immediate Responses, then send the messages."""
    return check_open_responses(now=now)
