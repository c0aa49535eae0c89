"""Immediate Responses: raised at any moment, answered within 24 clock hours, escalated when not."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from auditcycle.booking.meetings import book_manager_conversation
from auditcycle.core.clock import wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError, shown
from auditcycle.core.text import Redacted
from auditcycle.links.tokens import issue_link
from auditcycle.models import Audit, Child, ImmediateResponse, Staff
from auditcycle.models.enums import AuditStatus, ResponseStatus, ResponseTrigger
from auditcycle.notifications.immediate_responses import ResponseFacts, compose_response
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.people.directory import Directory, assistant_directors, distinct, service_managers_for
from auditcycle.people.permissions import Subject, authorise, may
from auditcycle.privacy.redaction import Redactor
from auditcycle.storage.events import log_event
from auditcycle.storage.records import get_audit

PHASE = "responses"
# The purpose of the link that opens the page where the Immediate Response is answered.
RESPOND = "ir-respond"


def _label(moment: datetime, ctx: AppContext) -> str:
    local = moment.astimezone(ctx.tz)
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}"


def _facts(session: Session, ir: ImmediateResponse, ctx: AppContext) -> ResponseFacts:
    audit = ir.audit
    responder = ir.responded_by
    redact = Redactor.about(session, audit.child)
    return ResponseFacts(
        response_ref=ir.reference, audit_ref=audit.reference, child_id=audit.child_id, team=audit.child.team.name,
        reason=redact(ir.reason), raised_label=_label(ir.raised_at, ctx),
        raised_by_name=ir.raised_by.name if ir.raised_by else "the supervision check, undecided by the auditor in time",
        deadline_label=_label(ir.deadline_at, ctx), hours=ctx.settings.framework.immediate_response_hours,
        responder_name=responder.name if responder else None,
        responded_label=_label(ir.responded_at, ctx) if ir.responded_at else None, same_day=ir.same_day,
        response=redact.optional(ir.response))


def _respond_link(session: Session, ctx: AppContext, ir: ImmediateResponse, key: MessageKey,
                  person: Staff) -> str | None:
    """Return the person's link to answer the Immediate Response, made once per message, or None if they may not."""
    if not may(session, "respond", person, Subject(audit=ir.audit)):
        return None
    return issue_link(session, ctx, purpose=RESPOND, subject_ref=ir.reference, staff=person, deadline=ir.deadline_at,
                      key=f"{key.for_recipient(Recipient.of(person))}:{RESPOND}")


def _send(session: Session, ctx: AppContext, ir: ImmediateResponse, *, stage: str, people: list[Staff]) -> int:
    facts = _facts(session, ir, ctx)
    key = MessageKey(PHASE, ir.audit.cycle.month, ir.reference, stage)
    queued = 0
    for person in people:
        url = _respond_link(session, ctx, ir, key, person) if stage != "responded" else None
        message = compose_response(facts, stage=stage, recipient_name=person.name, respond_url=url)
        queued += enqueue(session, ctx, key, person, message) is not None
    return queued


def raise_response(session: Session, ctx: AppContext, *, audit: Audit, trigger: ResponseTrigger, reason: str,
                   raised_by: str | None) -> ImmediateResponse:
    """Record an Immediate Response and notify the service manager in the same transaction."""
    count = session.scalar(select(func.count()).select_from(ImmediateResponse)
                           .where(ImmediateResponse.audit_id == audit.id)) or 0
    ir = ImmediateResponse(
        reference=f"IR-{audit.reference}-{count + 1}", audit_id=audit.id, trigger=trigger,
        dedupe_key="" if trigger == ResponseTrigger.SUPERVISION_GAP else str(count + 1), reason=reason.strip(),
        raised_by_id=raised_by, raised_at=ctx.now,
        deadline_at=ctx.timescales.immediate_response_deadline(ctx.now), status=ResponseStatus.OPEN,
        recorded_at=wall_clock())
    session.add(ir)
    session.flush()
    session.refresh(ir)
    log_event(session, ctx, subject_ref=ir.reference, kind="raised", actor_id=raised_by, detail=Redacted.fixed(trigger.value))
    _send(session, ctx, ir, stage="raised", people=service_managers_for(session, audit.child))
    log_event(session, ctx, subject_ref=ir.reference, kind="notified",
              detail=Redacted.fixed("service manager of the child's team, high importance"))
    return ir


def raise_ir(session: Session, ctx: AppContext, *, reference: str, by: str, reason: str) -> ImmediateResponse:
    """Raise an Immediate Response during audit or moderation, at any moment."""

    audit = get_audit(session, reference)
    authorise(session, command="raise-ir", staff_id=by, subject=Subject(audit=audit))
    if not reason.strip():
        raise UserError("--reason is required: say what the concern is")
    if audit.status in (AuditStatus.REPLACED, AuditStatus.WITHDRAWN):
        raise UserError(f"{reference} is {audit.status.value}; raise the concern on the child's current audit")
    ir = raise_response(session, ctx, audit=audit, trigger=ResponseTrigger.SAFEGUARDING_CONCERN, reason=reason,
                        raised_by=by)
    # The framework has the auditor talk with the team manager where an IR is raised: that meeting is booked.
    book_manager_conversation(session, ctx, audit=audit, why="an Immediate Response was raised")
    return ir


def get_response(session: Session, reference: str) -> ImmediateResponse:
    """Get an Immediate Response by reference or say plainly that there is none."""
    ir = session.scalar(select(ImmediateResponse).where(ImmediateResponse.reference == reference))
    if ir is None:
        raise UserError(f"{shown(reference)}: no Immediate Response has that reference (see `auditcycle list responses`)")
    return ir


def respond(session: Session, ctx: AppContext, *, reference: str, by: str, note: str) -> ImmediateResponse:
    """Record the service manager's response; a response on the day it was raised is marked same-day."""
    ir = get_response(session, reference)
    authorise(session, command="respond", staff_id=by, subject=Subject(audit=ir.audit))
    if not note.strip():
        raise UserError("--note is required: say what has been done")
    if ir.status == ResponseStatus.RESPONDED:
        raise UserError(f"{reference} was already answered on {_label(ir.responded_at, ctx)}")
    ctx.refuse_before(ir.raised_at, f"{reference} was raised")
    ir.status = ResponseStatus.RESPONDED
    ir.responded_by_id = by
    ir.responded_at = ctx.now
    ir.response = note.strip()
    ir.same_day = ir.responded_at.astimezone(ctx.tz).date() == ir.raised_at.astimezone(ctx.tz).date()
    ir.recorded_at = wall_clock()
    session.flush()
    session.refresh(ir)
    log_event(session, ctx, subject_ref=ir.reference, kind="responded", actor_id=by,
              detail=Redacted.fixed("same day" if ir.same_day else ""))
    told = distinct([ir.raised_by or ir.audit.auditor, *Directory.of(session).qa_managers])
    _send(session, ctx, ir, stage="responded", people=told)
    return ir


@dataclass
class ResponseCheck:
    """What one hourly check did."""

    reminded: int = 0
    escalated: int = 0
    open: int = 0


def check_responses(session: Session, ctx: AppContext) -> ResponseCheck:
    """Remind 4 hours before each open deadline and escalate to the assistant director once it passes."""
    result = ResponseCheck()
    reminder = timedelta(hours=ctx.settings.framework.immediate_response_reminder_hours)
    open_responses = session.scalars(
        select(ImmediateResponse).where(ImmediateResponse.status == ResponseStatus.OPEN)
        .order_by(ImmediateResponse.id)
        .options(selectinload(ImmediateResponse.audit).selectinload(Audit.child).selectinload(Child.team)))
    for ir in open_responses:
        result.open += 1
        if ctx.now > ir.deadline_at:
            if ir.escalated_at is None:
                ir.escalated_at = ctx.now
                people = distinct([*assistant_directors(session), *service_managers_for(session, ir.audit.child)])
                _send(session, ctx, ir, stage="escalation", people=people)
                log_event(session, ctx, subject_ref=ir.reference, kind="escalated",
                          detail=Redacted.fixed("deadline passed unanswered; assistant director told"))
                result.escalated += 1
        elif ctx.now >= ir.deadline_at - reminder:
            if _send(session, ctx, ir, stage="reminder", people=service_managers_for(session, ir.audit.child)):
                log_event(session, ctx, subject_ref=ir.reference, kind="reminded",
                          detail=Redacted.fixed(f"{reminder.total_seconds() / 3600:.0f} hours before the deadline"))
                result.reminded += 1
    session.flush()
    return result
