"""Assign and remind observations of practice."""
from dataclasses import asdict

from prefect import task

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.observations.assignment import assign_observations, remind_observations
from auditcycle.storage.db import session_scope
from auditcycle.tasks.common import TASK_OPTIONS


@task(name="assign-observations", **TASK_OPTIONS)
def assign_month_observations(month: str, now: str) -> dict:
    """Assign the month's observations once and queue any reminders due; return counts."""
    ctx = build_context(now)
    with session_scope() as session:
        summary = asdict(assign_observations(session, ctx, month=Month.parse(month)))
        summary["reminders"] = remind_observations(session, ctx, month=Month.parse(month))
    return summary
