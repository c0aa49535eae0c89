"""The `observe` phase: assign the month's observations of practice and remind observers."""
from auditcycle.flows.common import phase_flow
from auditcycle.tasks.observations import assign_month_observations


@phase_flow("observe")
def observe(month: str | None = None, now: str | None = None) -> dict:
    """Assign observations once a month and send any reminders due."""
    return assign_month_observations(month=month, now=now)
