"""The central tracker: every audit, action, meeting, response, moderation, message and questionnaire with its status."""
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from auditcycle.actions.ladder import tracker_row
from auditcycle.booking.answers import DECLINED
from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext, build_context
from auditcycle.learning.questionnaire import questionnaire_items
from auditcycle.models import (
    Action,
    Audit,
    AuditCycle,
    ImmediateResponse,
    Meeting,
    MeetingAnswer,
    Moderation,
    OutboxMessage,
    Staff,
    Submission,
)
from auditcycle.models.enums import AuditStatus, ModerationStatus
from auditcycle.moderation.panel import age_working_days, is_closed, stage
from auditcycle.trends.scrutiny import final_overall


class TrackerKind(StrEnum):
    AUDITS = "audits"
    ACTIONS = "actions"
    MEETINGS = "meetings"
    RESPONSES = "responses"
    MODERATIONS = "moderations"
    MESSAGES = "messages"
    QUESTIONNAIRES = "questionnaires"


def _plain(value: Any, ctx: AppContext) -> Any:
    if isinstance(value, datetime):
        # Stored in UTC; a person reads the council's local time, and the offset keeps it exact for scripts.
        return value.astimezone(ctx.tz).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value


NOT_SELECTED = "not_selected"


def moderation_state(moderation: ModerationStatus | None, *, submitted: bool, closed: bool) -> str | None:
    """Return an audit's moderation state: pending, agreed, changed, not_selected once closed, else None."""
    if moderation is not None:
        return moderation.value
    return NOT_SELECTED if submitted and closed else None


def final_grade(submitted: str | None, moderated: str | None, state: str | None) -> str | None:
    """Return an audit's final overall grade, or None while moderation may still change it."""
    if submitted is None or state in (None, ModerationStatus.PENDING):
        return None
    return final_overall(submitted, moderated, state != NOT_SELECTED)


def _audits(month: Month | None, ctx: AppContext) -> tuple[Select, Callable[[Any], dict]]:
    auditor, buddy = aliased(Staff), aliased(Staff)
    stmt = (
        select(Audit, AuditCycle, auditor.name.label("auditor_name"), buddy.name.label("buddy_name"),
               Submission.overall, Submission.submitted_at, Moderation.status.label("moderation"),
               Moderation.original_overall, Moderation.moderated_overall)
        .join(AuditCycle, Audit.cycle_id == AuditCycle.id)
        .outerjoin(auditor, Audit.auditor_id == auditor.id)
        .outerjoin(buddy, Audit.buddy_id == buddy.id)
        .outerjoin(Submission, Submission.audit_id == Audit.id)
        .outerjoin(Moderation, Moderation.audit_id == Audit.id)
        .order_by(Audit.id)
    )
    if month:
        stmt = stmt.where(AuditCycle.month == str(month))
    today = ctx.timescales.today(ctx.now)
    closed: dict[int, bool] = {}

    def to_item(row: Any) -> dict:
        submitted = row.original_overall or row.overall
        cycle = row.AuditCycle
        if cycle.id not in closed:
            closed[cycle.id] = is_closed(ctx, cycle)
        state = moderation_state(row.moderation, submitted=submitted is not None, closed=closed[cycle.id])
        return {
            "reference": row.Audit.reference,
            "status": row.Audit.status,
            "month": row.AuditCycle.month,
            "kind": row.Audit.kind,
            "child_id": row.Audit.child_id,
            "auditor_id": row.Audit.auditor_id,
            "auditor_name": row.auditor_name,
            "buddy_id": row.Audit.buddy_id,
            "buddy_name": row.buddy_name,
            "due_date": row.Audit.due_date,
            "submitted_at": row.submitted_at,
            "submitted_grade": submitted,
            # Moderation updates the form's overall grade in place, so the form's row holds the final grade.
            "final_grade": final_grade(row.overall, row.moderated_overall, state),
            "moderation": state,
            # Age runs from the draw, at the decision clock, so `--now` replays the tracker too.
            "age_days": max((today - ctx.timescales.today(row.Audit.created_at)).days, 0),
        }

    return stmt, to_item


def _actions(month: Month | None, ctx: AppContext) -> tuple[Select, Callable[[Any], dict]]:
    stmt = (
        select(Action, Audit.reference.label("audit"), AuditCycle.month)
        .join(Audit, Action.audit_id == Audit.id)
        .join(AuditCycle)
        .order_by(Action.id)
    )
    if month:
        stmt = stmt.where(AuditCycle.month == str(month))
    # Age and lateness are judged at the decision clock, so `--now` replays the tracker too.
    return stmt, lambda row: tracker_row(ctx, row.Action, audit_ref=row.audit, month=row.month)


def _meetings(month: Month | None) -> tuple[Select, Callable[[Any], dict]]:
    # Who has said they cannot come without moving it (an optional attendee), as one cell.
    declined = (select(func.aggregate_strings(MeetingAnswer.staff_id, ", "))
                .where(MeetingAnswer.meeting_id == Meeting.id, MeetingAnswer.answer == DECLINED)
                .correlate(Meeting).scalar_subquery())
    # Each person's answer to the meeting's current time (accepted, tentative, declined), as one cell.
    answers = (select(func.aggregate_strings(MeetingAnswer.staff_id + " " + MeetingAnswer.answer, ", "))
               .where(MeetingAnswer.meeting_id == Meeting.id, MeetingAnswer.sequence == Meeting.sequence)
               .correlate(Meeting).scalar_subquery())
    stmt = (
        select(Meeting, Audit.reference.label("audit"), AuditCycle.month, declined.label("declined"),
               answers.label("answers"))
        .join(Audit, Meeting.audit_id == Audit.id)
        .join(AuditCycle)
        .order_by(Meeting.starts_at, Meeting.id)
    )
    if month:
        stmt = stmt.where(AuditCycle.month == str(month))
    return stmt, lambda row: {
        "reference": row.Meeting.reference,
        "status": row.Meeting.status,
        "audit": row.audit,
        "month": row.month,
        "kind": row.Meeting.kind,
        "organiser_id": row.Meeting.organiser_id,
        "attendee_id": row.Meeting.attendee_id,
        "starts_at": row.Meeting.starts_at,
        "ends_at": row.Meeting.ends_at,
        "sequence": row.Meeting.sequence,
        "declined": row.declined,
        "answers": row.answers,
    }


def _responses(month: Month | None) -> tuple[Select, Callable[[Any], dict]]:
    stmt = (
        select(ImmediateResponse, Audit.reference.label("audit"), Audit.child_id, AuditCycle.month)
        .join(Audit, ImmediateResponse.audit_id == Audit.id)
        .join(AuditCycle)
        .order_by(ImmediateResponse.id)
    )
    if month:
        stmt = stmt.where(AuditCycle.month == str(month))
    return stmt, lambda row: {
        "reference": row.ImmediateResponse.reference,
        "status": row.ImmediateResponse.status,
        "audit": row.audit,
        "month": row.month,
        "child_id": row.child_id,
        "trigger": row.ImmediateResponse.trigger,
        "raised_at": row.ImmediateResponse.raised_at,
        "deadline_at": row.ImmediateResponse.deadline_at,
    }


def _moderations(month: Month | None, ctx: AppContext) -> tuple[Select, Callable[[Any], dict]]:
    stmt = (
        select(Moderation, Audit.reference.label("audit"), Audit.status.label("audit_status"), AuditCycle.month)
        .join(Audit, Moderation.audit_id == Audit.id)
        .join(AuditCycle)
        .order_by(Moderation.id)
    )
    if month:
        stmt = stmt.where(AuditCycle.month == str(month))
    framework = ctx.settings.framework

    def row(r: Any) -> dict:
        m: Moderation = r.Moderation
        in_progress = r.audit_status == AuditStatus.IN_MODERATION
        return {
            "reference": r.audit,
            "status": stage(framework, m, in_moderation=in_progress),
            "month": r.month,
            "reason": m.reason,
            "submitted_grade": m.original_overall,
            "moderated_grade": m.moderated_overall,
            "selected_at": m.selected_at,
            # Counted at the decision clock while in progress, so `--now` replays it; a final one has no age.
            "age_working_days": age_working_days(ctx, m) if in_progress else None,
            "assistant_director_id": m.assistant_director_id,
            "director_agreed_by_id": m.director_agreed_by_id,
        }

    return stmt, row


def _messages(month: Month | None) -> tuple[Select, Callable[[Any], dict]]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if month:
        # A message belongs to the month of the phase subject it was about, when it names one.
        stmt = stmt.where(OutboxMessage.idempotency_key.contains(f":{month}:"))
    return stmt, lambda row: {
        "reference": f"M{row.OutboxMessage.id:06d}",
        "status": row.OutboxMessage.status,
        "phase": row.OutboxMessage.phase,
        "step": row.OutboxMessage.step,
        "subject_ref": row.OutboxMessage.subject_ref,
        "recipient_id": row.OutboxMessage.recipient_id,
        "subject": row.OutboxMessage.subject,
        "attempts": row.OutboxMessage.attempts,
        "last_code": row.OutboxMessage.last_code,
        "last_error": row.OutboxMessage.last_error,
        "sent_at": row.OutboxMessage.sent_at,
    }


# Audits, actions and moderations are listed against the clock (age, moderation closed, days overdue): built
# with ctx.
_QUERIES = {
    TrackerKind.MEETINGS: _meetings,
    TrackerKind.RESPONSES: _responses,
    TrackerKind.MESSAGES: _messages,
}


def list_items(*, session: Session, kind: TrackerKind, month: Month | None = None,
               ctx: AppContext | None = None) -> list[dict]:
    """List one kind of tracked item as plain, JSON-ready dicts, each with a reference and status."""
    ctx = ctx or build_context()
    if kind == TrackerKind.QUESTIONNAIRES:
        return questionnaire_items(session, ctx, month=month)
    if kind == TrackerKind.AUDITS:
        stmt, to_item = _audits(month, ctx)
    elif kind == TrackerKind.ACTIONS:
        stmt, to_item = _actions(month, ctx)
    elif kind == TrackerKind.MODERATIONS:
        stmt, to_item = _moderations(month, ctx)
    else:
        stmt, to_item = _QUERIES[kind](month)
    return [{k: _plain(v, ctx) for k, v in to_item(row).items()} for row in session.execute(stmt)]
