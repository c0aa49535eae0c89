"""The `escalate` phase: remind and escalate audit actions, every working day."""
from auditcycle.flows.common import phase_flow
from auditcycle.tasks.actions import escalate_actions


@phase_flow("escalate")
def escalate(month: str | None = None, now: str | None = None) -> dict:
    """Queue action reminders and each ladder step due, once, then send them."""
    return escalate_actions(now=now)
