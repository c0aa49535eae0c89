"""The console's list page: a month's drawn sample as the QA team reviews it, with each audit's meetings,
whether it can still be replaced, and whether the list is approved or when its notices go unapproved."""
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.booking.meetings import meeting_title
from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.models import Audit, Meeting, MeetingAnswer, Staff
from auditcycle.models.enums import AuditStatus, MeetingStatus
from auditcycle.notices.review import ListedAudit, listed_audits, released
from auditcycle.notifications.notices import moment_label
from auditcycle.people.permissions import may
from auditcycle.sampling.cycle import monthly_cycle


@dataclass(frozen=True)
class ListRow:
    """One audit of the list: as the list mail shows it, its state, and its booked meetings."""

    listed: ListedAudit
    status: str
    replaceable: bool
    meetings: tuple[str, ...]


@dataclass(frozen=True)
class ListView:
    """A month's drawn list and where its review stands."""

    month: Month
    approved: str | None      # "by NAME at TIME"
    notices_go: str | None    # when the notices go unapproved, while the review is open
    may_approve: bool
    may_replace: bool
    rows: tuple[ListRow, ...]


def list_view(session: Session, ctx: AppContext, month: Month, viewer: Staff) -> ListView | None:
    """Return the month's drawn list for the console, or None if the month has not been drawn."""
    cycle = monthly_cycle(session, month)
    if cycle is None:
        return None
    statuses = dict(session.execute(select(Audit.reference, Audit.status).where(Audit.cycle_id == cycle.id)).all())
    meetings: dict[str, list[str]] = {}
    # Each invited person's answer to the time each meeting now has (a reply to an older time is history).
    answered: dict[int, list[str]] = {}
    for meeting_id, answer, name in session.execute(
            select(Meeting.id, MeetingAnswer.answer, Staff.name)
            .join(MeetingAnswer, MeetingAnswer.meeting_id == Meeting.id).join(Staff, MeetingAnswer.staff_id == Staff.id)
            .join(Audit, Meeting.audit_id == Audit.id)
            .where(Audit.cycle_id == cycle.id, MeetingAnswer.sequence == Meeting.sequence).order_by(Staff.name)):
        answered.setdefault(meeting_id, []).append(f"{name} {answer}")
    for meeting in session.scalars(select(Meeting).join(Audit, Meeting.audit_id == Audit.id).where(
            Audit.cycle_id == cycle.id, Meeting.status == MeetingStatus.BOOKED).order_by(Meeting.starts_at)):
        said = f" ({', '.join(answered[meeting.id])})" if meeting.id in answered else ""
        meetings.setdefault(meeting.audit.reference, []).append(
            f"{meeting_title(meeting).split(' (')[0]}, {moment_label(meeting.starts_at, ctx.tz)}{said}")
    approver = session.get(Staff, cycle.list_approved_by_id) if cycle.list_approved_by_id else None
    open_review = not released(cycle, ctx)
    rows = tuple(ListRow(listed=row, status=statuses[row.audit_ref].value.replace("_", " "),
                         replaceable=statuses[row.audit_ref] == AuditStatus.ALLOCATED,
                         meetings=tuple(meetings.get(row.audit_ref, ())))
                 for row in listed_audits(session, cycle))
    return ListView(
        month=month,
        approved=f"by {approver.name} at {moment_label(cycle.list_approved_at, ctx.tz)}" if approver else None,
        notices_go=moment_label(cycle.list_review_closes_at, ctx.tz) if open_review else None,
        may_approve=open_review and may(session, "approve-list", viewer),
        may_replace=may(session, "replace", viewer), rows=rows)
