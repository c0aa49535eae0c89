"""Build, write and issue the monthly report."""
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.report.issue import publish
from auditcycle.tasks.common import phase_task


@phase_task("publish-report")
def publish_report(session: Session, ctx: AppContext, month: Month, reissue: bool = False) -> dict:
    """Write the month's report files and mail the edition due; return where they are and what was sent."""
    return publish(session, ctx, month=month, reissue=reissue)
