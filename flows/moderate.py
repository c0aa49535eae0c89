"""The `moderate` phase: select audits for moderation after the due date, and close moderation."""
from auditcycle.flows.common import phase_flow
from auditcycle.tasks.learning import follow_up_moderation
from auditcycle.tasks.moderation import moderate_month


@phase_flow("moderate")
def moderate(month: str | None = None, now: str | None = None) -> dict:
    """Select audits for moderation (adding late forms on re-runs), close it when due, then follow up.

    Following up drafts Make a Difference summaries of good audits and, once moderation has closed,
    runs trend scrutiny and invites everyone involved to the reflective learning session.
    """
    return {**moderate_month(month=month, now=now), **follow_up_moderation(month=month, now=now)}
