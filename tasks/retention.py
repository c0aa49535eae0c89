"""Erase personal fields past their retention period."""
from dataclasses import asdict

from prefect import task

from auditcycle.core.context import build_context
from auditcycle.privacy.retention import purge_expired
from auditcycle.storage.db import session_scope
from auditcycle.tasks.common import TASK_OPTIONS


@task(name="purge-expired-personal-data", **TASK_OPTIONS)
def purge_personal_data(now: str) -> dict:
    """Erase, in one transaction, the personal fields of children past retention, returning counts only."""
    ctx = build_context(now)
    with session_scope() as session:
        summary = purge_expired(session, now=ctx.now, years=ctx.settings.retention_years)
    return asdict(summary)
