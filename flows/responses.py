"""The `responses` phase: check Immediate Responses every hour, around the clock."""
from auditcycle.flows.common import phase_flow
from auditcycle.tasks.immediate_responses import check_open_responses, raise_overdue_gaps


@phase_flow("responses")
def responses(month: str | None = None, now: str | None = None) -> dict:
    """Raise the supervision gaps left undecided, remind and escalate open Immediate Responses, then send."""
    gaps = raise_overdue_gaps(now=now)
    return {"gaps_raised": gaps["raised"], **check_open_responses(now=now)}
