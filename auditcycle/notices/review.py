"""When a month's notices may go: the QA team's review of the drawn list, then its approval or the close of its window.

The framework has the QA team check the sample before anyone is told. A monthly list is mailed to the QA
managers as one message at the draw; its notices wait until a QA manager approves it or, unapproved, until
the review window closes (the list_review_* settings: by default the next working day at 12:00).
Replacements made meanwhile go out with the first notices, because the notices are not yet written.
Ad-hoc samples (deep dives, dip samples) are called at short notice and are announced at once.
"""
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.immediate_responses.supervision_gaps import suspected_gaps
from auditcycle.links.tokens import issue_link
from auditcycle.models import Audit, AuditCycle, Staff, Team
from auditcycle.models.enums import AuditStatus, CycleKind
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.notices import moment_label, month_label
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.notifications.render import render
from auditcycle.people.directory import AUDIT_PEOPLE, Directory
from auditcycle.people.permissions import authorise

PHASE = "sample"


@dataclass(frozen=True)
class ListedAudit:
    """One line of the drawn list as the QA manager reviews it: by case id, never by name."""

    audit_ref: str
    child_id: str
    kind: str
    team: str
    auditor: str
    buddy: str | None
    supervision_gap: bool


def released(cycle: AuditCycle, ctx: AppContext) -> bool:
    """Say whether a cycle's notices may go: an ad-hoc sample, an approved list, or a review window that has closed."""
    if cycle.kind != CycleKind.MONTHLY or cycle.list_approved_at is not None or cycle.list_review_closes_at is None:
        return True
    return ctx.now >= cycle.list_review_closes_at


def held_reason(cycle: AuditCycle, ctx: AppContext) -> str | None:
    """Say why a cycle's notices must wait, naming how to release them, or None when they may go."""
    if released(cycle, ctx):
        return None
    assert cycle.list_review_closes_at is not None
    return (f"the {Month.parse(cycle.month).label} list is with the QA team for review: its notices go once a QA "
            f"manager approves it (`auditcycle approve-list {cycle.month} --by STAFF_ID`) or, unapproved, "
            f"at {moment_label(cycle.list_review_closes_at, ctx.tz)}")


def require_released(cycle: AuditCycle, ctx: AppContext) -> None:
    """Refuse to announce a monthly list still under review."""
    if (reason := held_reason(cycle, ctx)) is not None:
        raise UserError(f"notices held: {reason}")


def open_review(session: Session, ctx: AppContext, cycle: AuditCycle) -> int:
    """Start a newly drawn monthly list's review window and queue the list to each QA manager; return messages queued."""
    cycle.list_review_closes_at = ctx.timescales.list_review_closes(ctx.now)
    rows = listed_audits(session, cycle)
    queued = 0
    key = MessageKey(PHASE, cycle.month, cycle.reference, "drawn-list")
    for manager in Directory(session).qa_managers:
        url = issue_link(session, ctx, purpose="approve-list", subject_ref=cycle.reference, staff=manager,
                         deadline=cycle.list_review_closes_at,
                         key=f"{key.for_recipient(Recipient.of(manager))}:approve-list")
        message = render("drawn_list", recipient_name=manager.name, month=cycle.month,
                         month_label=month_label(cycle.month), rows=rows,
                         closes_label=moment_label(cycle.list_review_closes_at, ctx.tz), approve_url=url)
        queued += enqueue(session, ctx, key, manager, message) is not None
    return queued


def listed_audits(session: Session, cycle: AuditCycle) -> list[ListedAudit]:
    """Return the drawn list as the QA manager reviews it, one line an audit, by case id."""
    audits = list(session.scalars(select(Audit).where(Audit.cycle_id == cycle.id).order_by(Audit.id)
                                  .options(*AUDIT_PEOPLE)))
    gaps = set(suspected_gaps(session, [a.id for a in audits]))
    teams = {t.id: t.name for t in session.scalars(select(Team))}
    return [ListedAudit(audit_ref=a.reference, child_id=a.child_id, kind=a.kind.value.replace("_", " "),
                        team=teams.get(a.team_id, "unknown team"),
                        auditor=_name(a.auditor) or "to be allocated", buddy=_name(a.buddy),
                        supervision_gap=a.id in gaps) for a in audits]


def approve_list(session: Session, ctx: AppContext, *, cycle: AuditCycle, by: str) -> bool:
    """Record a QA manager's approval of a month's drawn list, once; say whether this call recorded it."""
    approver = authorise(session, command="approve-list", staff_id=by)
    month = Month.parse(cycle.month)
    if cycle.sampled_at is not None:
        ctx.refuse_before(cycle.sampled_at, f"the {month} list was drawn")
    if cycle.list_approved_at is not None:
        return False
    if released(cycle, ctx):
        closed = f"at {moment_label(cycle.list_review_closes_at, ctx.tz)}" if cycle.list_review_closes_at else "at the draw"
        raise UserError(f"the {month.label} list no longer needs approving: its review window closed {closed} "
                        "and its notices go (or went) with the next notify run")
    cycle.list_approved_at = ctx.now
    cycle.list_approved_by_id = approver.id
    session.flush()
    return True


def waiting(session: Session, cycle: AuditCycle, status: AuditStatus) -> int:
    """Count a cycle's audits at a status, such as those drawn but not yet announced."""
    return session.scalar(select(func.count()).select_from(Audit).where(
        Audit.cycle_id == cycle.id, Audit.status == status)) or 0


def _name(staff: Staff | None) -> str | None:
    return f"{staff.name} ({staff.id})" if staff is not None else None
