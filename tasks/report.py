"""Build, write and issue the monthly report."""
from prefect import task
from sqlalchemy import func, select

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.models import ReportEdition
from auditcycle.report.data import build_report_data
from auditcycle.report.render import issue_report, write_report
from auditcycle.storage.db import session_scope
from auditcycle.tasks.common import TASK_OPTIONS


@task(name="publish-report", **TASK_OPTIONS)
def publish_report(month: str, now: str, reissue: bool = False) -> dict:
    """Write the month's report files and mail the edition due; return where they are and what was sent."""
    ctx = build_context(now)
    folder = ctx.settings.reports_dir / month
    with session_scope() as session:
        data = build_report_data(session, ctx, month=Month.parse(month))
        # A plain re-run after a reissue keeps the reissue's mark on the files it rewrites.
        latest = session.scalar(select(func.max(ReportEdition.edition)).where(ReportEdition.month == month))
        files = write_report(data, folder, reissue_of=latest if latest and latest > 1 else None)
        queued = issue_report(session, ctx, data=data, files=files, reissue=reissue)
    return {"folder": str(folder), "provisional": data.provisional, "empty": data.empty, "queued": queued}
