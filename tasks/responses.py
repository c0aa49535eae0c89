"""Check every open Immediate Response against its deadline."""
from dataclasses import asdict

from prefect import task

from auditcycle.core.context import build_context
from auditcycle.immediate_responses.lifecycle import check_responses
from auditcycle.storage.db import session_scope
from auditcycle.tasks.common import TASK_OPTIONS


@task(name="check-responses", **TASK_OPTIONS)
def check_open_responses(now: str) -> dict:
    """Remind before, and escalate after, each open deadline; return counts."""
    ctx = build_context(now)
    with session_scope() as session:
        return asdict(check_responses(session, ctx))
