"""Publish a month's report: write its files and mail the edition due, once, whoever starts it.

The report phase (scheduled, or `auditcycle run report`) and the console's Issue and Reissue buttons all come
here. A person issuing from the console says which edition they saw, so a second click, or a second tab, is told
who issued it and when, and nothing is sent twice; a reissue needs a reason, kept with the edition and in the trail.
"""
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.core.text import text_problem
from auditcycle.models import ReportEdition, Staff
from auditcycle.notifications.notices import moment_label
from auditcycle.people.permissions import authorise
from auditcycle.privacy.redaction import Redactor
from auditcycle.report.data import build_report_data
from auditcycle.report.notes import ReportTextRefused
from auditcycle.report.render import issue_report, write_report
from auditcycle.sampling.cycle import monthly_cycle
from auditcycle.storage.db import serialise
from auditcycle.storage.events import log_event
from auditcycle.storage.trail import current_actor

REASON = "reason"
REASON_MAX_CHARACTERS = 500


def editions(session: Session, month: Month) -> list[ReportEdition]:
    """List a month's mailed editions, the first first."""
    return list(session.scalars(select(ReportEdition).where(ReportEdition.month == str(month))
                                .order_by(ReportEdition.edition)))


def _latest(session: Session, month: Month) -> ReportEdition | None:
    return session.scalar(select(ReportEdition).where(ReportEdition.month == str(month))
                          .order_by(ReportEdition.edition.desc()).limit(1))


def _person_acting(session: Session) -> str | None:
    # A run started by a member of staff is theirs; a scheduled one is the scheduler's, which the trail names.
    actor = current_actor()
    return actor if session.get(Staff, actor) is not None else None


def publish(session: Session, ctx: AppContext, *, month: Month, reissue: bool = False, by: str | None = None,
            reason: str | None = None) -> dict:
    """Write the month's report files and mail the edition due; return where they are and what was sent."""
    serialise(session, f"report-{month}")
    folder = ctx.settings.reports_dir / str(month)
    data = build_report_data(session, ctx, month=month)
    latest = _latest(session, month)
    # A plain re-run after a reissue keeps the reissue's mark on the files it rewrites.
    files = write_report(data, folder, reissue_of=latest.edition if latest and latest.edition > 1 else None,
                         min_cell=ctx.settings.framework.report_min_cell)
    queued = issue_report(session, ctx, data=data, files=files, reissue=reissue, by=by or _person_acting(session),
                          reason=reason)
    return {"folder": str(folder), "provisional": data.provisional, "empty": data.empty, "queued": queued}


def issuer(session: Session, edition: ReportEdition) -> str:
    """Name who issued an edition: the member of staff, or the scheduled report run."""
    person = session.get(Staff, edition.issued_by_id) if edition.issued_by_id else None
    return person.name if person else "the scheduled report run"


def issued_by(session: Session, ctx: AppContext, edition: ReportEdition) -> str:
    """Say who issued an edition and when: "by Dana Cole at 10:00 on Monday 11 January 2027"."""
    return f"by {issuer(session, edition)} at {moment_label(edition.issued_at, ctx.tz)}"


def _check_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReportTextRefused(REASON, "Enter why the report is being reissued: the reason is kept with the edition")
    if len(reason) > REASON_MAX_CHARACTERS:
        raise ReportTextRefused(REASON, f"The reason must be {REASON_MAX_CHARACTERS} characters or fewer")
    if problem := text_problem(reason, multiline=True):
        raise ReportTextRefused(REASON, f"The reason {problem}")
    return reason


def issue_edition(session: Session, ctx: AppContext, *, month: Month, by: str, seen: int,
                  reason: str | None = None) -> ReportEdition:
    """Issue the month's report as a member of the QA team (seen=0), or reissue it with a reason (seen=the latest
    edition they saw); refuse, saying who issued it and when, if another edition went out since they looked."""
    actor = authorise(session, command="issue-report", staff_id=by)
    if monthly_cycle(session, month) is None:
        raise UserError(f"no sample has been drawn for {month}: there is no report to issue")
    reason = _check_reason(reason) if seen else None
    serialise(session, f"report-{month}")
    latest = _latest(session, month)
    if (latest.edition if latest else 0) != seen:
        if latest is None:
            raise UserError(f"The {month.label} report has not been issued yet, so there is nothing to reissue. "
                            "Nothing was sent.")
        raise UserError(f"Edition {latest.edition} of the {month.label} report was already issued "
                        f"{issued_by(session, ctx, latest)}. Nothing was sent again.")
    publish(session, ctx, month=month, reissue=bool(seen), by=actor.id, reason=reason)
    edition = _latest(session, month)
    assert edition is not None and edition.edition == seen + 1
    detail = Redactor.for_caseload(session)(reason) if reason else None
    log_event(session, ctx, subject_ref=f"report-{month}-e{edition.edition}", actor_id=actor.id,
              **({"kind": "report-reissued", "detail": detail} if detail else {"kind": "report-issued"}))
    return edition
