"""The `chase` phase: remind auditors before and after the due date, every working day."""
from auditcycle.flows.common import phase_flow
from auditcycle.tasks.chasing import chase_audits


@phase_flow("chase")
def chase(month: str | None = None, now: str | None = None) -> dict:
    """Queue the reminders that have fallen due for this month and earlier open audits, then send them."""
    return chase_audits(month=month, now=now)
