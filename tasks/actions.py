"""Escalate overdue audit actions."""
from dataclasses import asdict

from prefect import task

from auditcycle.actions.ladder import escalate
from auditcycle.core.context import build_context
from auditcycle.storage.db import session_scope
from auditcycle.tasks.common import TASK_OPTIONS


@task(name="escalate-actions", **TASK_OPTIONS)
def escalate_actions(now: str) -> dict:
    """Remind before, and climb the ladder after, each open action's due date; return counts."""
    ctx = build_context(now)
    with session_scope() as session:
        return asdict(escalate(session, ctx))
