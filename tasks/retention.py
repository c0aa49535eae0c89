"""Erase personal fields past their retention period."""
from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.privacy.retention import PurgeSummary, purge_expired
from auditcycle.tasks.common import phase_task


@phase_task("purge-expired-personal-data")
def purge_personal_data(session: Session, ctx: AppContext) -> PurgeSummary:
    """Erase, in one transaction, the personal fields of children past retention, returning counts only."""
    return purge_expired(session, now=ctx.now, years=ctx.settings.retention_years)
