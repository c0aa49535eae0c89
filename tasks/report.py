"""Build, write and issue the monthly report."""
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.models import ReportEdition
from auditcycle.report.data import build_report_data
from auditcycle.report.render import issue_report, write_report
from auditcycle.tasks.common import phase_task


@phase_task("publish-report")
def publish_report(session: Session, ctx: AppContext, month: Month, reissue: bool = False) -> dict:
    """Write the month's report files and mail the edition due; return where they are and what was sent."""
    folder = ctx.settings.reports_dir / str(month)
    data = build_report_data(session, ctx, month=month)
    # A plain re-run after a reissue keeps the reissue's mark on the files it rewrites.
    latest = session.scalar(select(func.max(ReportEdition.edition)).where(ReportEdition.month == str(month)))
    files = write_report(data, folder, reissue_of=latest if latest and latest > 1 else None)
    queued = issue_report(session, ctx, data=data, files=files, reissue=reissue)
    return {"folder": str(folder), "provisional": data.provisional, "empty": data.empty, "queued": queued}
