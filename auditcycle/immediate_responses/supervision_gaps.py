"""Supervision gaps: what the records suggest at the draw, and the auditor's finding on it.

The framework's trigger is "evidence that there has been no supervision ... for 6 months or more", and
the Immediate Response follows "conversation with the relevant Team Manager/Service Manager". An
imported last-supervision date is only what the records show, so the draw records a suspected gap
(auditcycle.core.timescales.supervision_gap), the notice tells the auditor and the key worker's team
manager, and the auditor confirms it (raising the Immediate Response, its clock starting then) or
dismisses it with the reason. A gap nobody has decided by its deadline is raised automatically by the
hourly `responses` phase, once: the end of the audit month's first working day for a monthly cycle, the
end of the next working day after the draw for an ad-hoc one.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from auditcycle.core.clock import Month, wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.core.text import Redacted, text_problem
from auditcycle.immediate_responses.lifecycle import raise_response
from auditcycle.models import Audit, AuditCycle, Child, SupervisionGap
from auditcycle.models.enums import AuditStatus, CycleKind, ResponseTrigger, SupervisionGapStatus
from auditcycle.people.permissions import Subject, authorise
from auditcycle.privacy.redaction import Redactor
from auditcycle.storage.events import log_event
from auditcycle.storage.records import get_audit

COMMAND = "supervision-gap"
DECISIONS = ("confirm", "dismiss")
CLOSED = (AuditStatus.REPLACED, AuditStatus.WITHDRAWN)


def since_label(gap: SupervisionGap) -> str:
    """Say what the records show, e.g. 'no supervision since 22 May 2026' or 'no supervision on record'."""
    if gap.since is None:
        return "no supervision on record"
    return f"no supervision since {gap.since.day} {gap.since:%B %Y}"


def decide_by(ctx: AppContext, cycle: AuditCycle) -> datetime:
    """Return when an undecided gap is raised automatically: the audit month's first working day, or the next."""
    ts = ctx.timescales
    soonest = ts.due_at(ts.next_working_day(ts.today(ctx.now)))
    if cycle.kind != CycleKind.MONTHLY:
        return soonest
    # A replacement drawn after the month has begun still leaves the auditor a working day.
    return max(ts.due_at(ts.first_working_day(Month.parse(cycle.month))), soonest)


def record_suspected_gaps(session: Session, ctx: AppContext, cycle: AuditCycle) -> int:
    """Record, once per audit, each sampled child whose records show a supervision gap; return how many."""
    today = ctx.timescales.today(ctx.now)
    rows = session.execute(
        select(Audit.id, Child.last_supervision_date).join(Child, Audit.child_id == Child.id)
        .outerjoin(SupervisionGap, SupervisionGap.audit_id == Audit.id)
        .where(Audit.cycle_id == cycle.id, Audit.status.not_in(CLOSED), SupervisionGap.id.is_(None))
        .order_by(Audit.id))
    deadline = decide_by(ctx, cycle)
    found = 0
    for audit_id, last in rows:
        if ctx.timescales.supervision_gap(last, today):
            session.add(SupervisionGap(audit_id=audit_id, since=last, status=SupervisionGapStatus.SUSPECTED,
                                       found_at=ctx.now, decide_by=deadline))
            found += 1
    session.flush()
    return found


def suspected_gaps(session: Session, audit_ids: list[int]) -> dict[int, SupervisionGap]:
    """Return the undecided gaps of these audits, by audit id."""
    if not audit_ids:
        return {}
    return {gap.audit_id: gap for gap in session.scalars(select(SupervisionGap).where(
        SupervisionGap.audit_id.in_(audit_ids), SupervisionGap.status == SupervisionGapStatus.SUSPECTED))}


def _response_reason(ctx: AppContext, gap: SupervisionGap, finding: str) -> str:
    months = ctx.settings.framework.supervision_gap_months
    return f"The records show {since_label(gap)} ({months} months or more), {finding}."


def decide_gap(session: Session, ctx: AppContext, *, reference: str, decision: str, reason: str,
               by: str) -> SupervisionGap:
    """Record the auditor's finding on a suspected gap: confirm raises the Immediate Response, dismiss keeps why."""
    audit = get_audit(session, reference)
    actor = authorise(session, command=COMMAND, staff_id=by, subject=Subject(audit=audit))
    if decision not in DECISIONS:
        raise UserError(f"DECISION {decision!r}: say confirm or dismiss")
    said = reason.strip()
    if not said:
        raise UserError("--reason is required: say what the records and the conversation with the team "
                        "manager showed")
    if problem := text_problem(said, multiline=True):
        raise UserError(f"--reason {problem}")
    gap = session.scalar(select(SupervisionGap).where(SupervisionGap.audit_id == audit.id))
    if gap is None:
        raise UserError(f"{reference}: the records showed no supervision gap at the draw")
    if gap.status != SupervisionGapStatus.SUSPECTED:
        when = gap.decided_at.astimezone(ctx.tz)
        raise UserError(f"{reference}: the supervision gap is already {gap.status.value.replace('_', ' ')} "
                        f"({when:%d %B %Y at %H:%M})")
    if audit.status in CLOSED:
        raise UserError(f"{reference} is {audit.status.value}: its supervision gap is no longer for decision")
    ctx.refuse_before(gap.found_at, f"the supervision gap of {reference} was found")
    gap.reason, gap.decided_by_id, gap.decided_at, gap.recorded_at = said, actor.id, ctx.now, wall_clock()
    if decision == "confirm":
        gap.status = SupervisionGapStatus.CONFIRMED
        who = "the auditor" if actor.id == audit.auditor_id else f"{actor.name} of the QA team"
        gap.response = raise_response(
            session, ctx, audit=audit, trigger=ResponseTrigger.SUPERVISION_GAP, raised_by=actor.id,
            reason=_response_reason(ctx, gap, f"confirmed by {who}: {said}"))
    else:
        gap.status = SupervisionGapStatus.DISMISSED
    session.flush()
    log_event(session, ctx, subject_ref=audit.reference, kind=f"supervision-gap-{gap.status.value}",
              actor_id=actor.id, detail=Redactor.about(session, audit.child)(said))
    return gap


@dataclass
class GapCheck:
    """What one check of undecided gaps did."""

    raised: int = 0


def raise_undecided_gaps(session: Session, ctx: AppContext) -> GapCheck:
    """Raise the Immediate Response of each gap still undecided past its deadline, once."""
    result = GapCheck()
    overdue = session.scalars(
        select(SupervisionGap).join(Audit, SupervisionGap.audit_id == Audit.id)
        .where(SupervisionGap.status == SupervisionGapStatus.SUSPECTED, SupervisionGap.decide_by < ctx.now,
               Audit.status.not_in(CLOSED))
        .order_by(SupervisionGap.id)
        .options(selectinload(SupervisionGap.audit).selectinload(Audit.child).selectinload(Child.team)))
    for gap in overdue:
        deadline = gap.decide_by.astimezone(ctx.tz)
        gap.status = SupervisionGapStatus.RAISED_AUTOMATICALLY
        gap.decided_at, gap.recorded_at = ctx.now, wall_clock()
        gap.response = raise_response(
            session, ctx, audit=gap.audit, trigger=ResponseTrigger.SUPERVISION_GAP, raised_by=None,
            reason=_response_reason(ctx, gap, f"neither confirmed nor dismissed by the auditor by "
                                              f"{deadline:%H:%M} on {deadline.day} {deadline:%B %Y}: "
                                              "raised automatically"))
        log_event(session, ctx, subject_ref=gap.audit.reference, kind="supervision-gap-raised-automatically",
                  detail=Redacted.fixed("undecided by its deadline"))
        result.raised += 1
    session.flush()
    return result
