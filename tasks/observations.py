"""Assign and remind observations of practice."""
from dataclasses import asdict

from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.observations.assignment import assign_observations, remind_observations
from auditcycle.tasks.common import phase_task


@phase_task("assign-observations")
def assign_month_observations(session: Session, ctx: AppContext, month: Month) -> dict:
    """Assign the month's observations once and queue any reminders due; return counts."""
    summary = asdict(assign_observations(session, ctx, month=month))
    summary["reminders"] = remind_observations(session, ctx, month=month)
    return summary
