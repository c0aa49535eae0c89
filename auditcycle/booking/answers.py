"""What invited people answer to an audit meeting, kept on the meeting.

An optional attendee (a new auditor's buddy, at the learning conversation) who cannot come is recorded here
and the organiser told; their answer never moves the meeting, which the required attendees' answers do
(`auditcycle.invitations.cant_make`). The accepted, tentative or declined of a calendar reply read from the
QA mailbox is kept here too (`auditcycle.invitations.replies`), each person's latest.
"""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.booking.meetings import PHASE, meeting_title, time_label
from auditcycle.core.clock import wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.models import Meeting, MeetingAnswer, Staff
from auditcycle.notifications.invites import compose_optional_apology
from auditcycle.notifications.notices import moment_label
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.privacy.redaction import Redactor

DECLINED = "declined"
# Where an answer came from: the invite's "I can't make this time" link, or a calendar reply (invitations.replies).
LINK, CALENDAR_REPLY = "link", "calendar"


def answer_of(session: Session, meeting: Meeting, person: Staff) -> MeetingAnswer | None:
    """Return a person's recorded answer to a meeting, if they gave one."""
    return session.scalar(select(MeetingAnswer).where(MeetingAnswer.meeting_id == meeting.id,
                                                      MeetingAnswer.staff_id == person.id))


def record_answer(session: Session, ctx: AppContext, meeting: Meeting, *, person: Staff, answer: str, sequence: int,
                  answered_at: datetime, reason: str | None, source: str) -> MeetingAnswer:
    """Keep a person's latest answer to a meeting, replacing the one they gave before."""
    given = answer_of(session, meeting, person)
    if given is None:
        given = MeetingAnswer(meeting_id=meeting.id, staff_id=person.id)
        session.add(given)
    given.answer, given.sequence, given.reason, given.source = answer, sequence, reason or None, source
    given.answered_at, given.recorded_at = answered_at, wall_clock()
    session.flush()
    return given


def tell_organiser_optional(session: Session, ctx: AppContext, meeting: Meeting, *, person: Staff,
                            reason: str | None) -> None:
    """Tell a meeting's organiser, once, that an optional attendee cannot come and the meeting stays."""
    audit = meeting.audit
    shown_reason = Redactor.about(session, audit.child)(reason) if reason else None
    message = compose_optional_apology(recipient_name=meeting.organiser.name, title=meeting_title(meeting),
                                       audit_ref=audit.reference, child_id=audit.child_id,
                                       when_label=time_label(ctx, meeting.starts_at, meeting.ends_at),
                                       person_name=person.name, reason=shown_reason)
    enqueue(session, ctx, MessageKey(PHASE, audit.cycle.month, meeting.reference, f"answer-{person.id}"),
            meeting.organiser, message)


def decline_optional(session: Session, ctx: AppContext, meeting: Meeting, *, person: Staff,
                     reason: str) -> MeetingAnswer:
    """Record that an optional attendee cannot come and tell the organiser; the meeting stays where it is."""
    if (given := answer_of(session, meeting, person)) is not None and given.answer == DECLINED:
        raise UserError(f"{meeting.reference}: {person.name} already said they cannot come, at "
                        f"{moment_label(given.answered_at, ctx.tz)}. Nothing was changed.")
    given = record_answer(session, ctx, meeting, person=person, answer=DECLINED, sequence=meeting.sequence,
                          answered_at=ctx.now, reason=reason, source=LINK)
    tell_organiser_optional(session, ctx, meeting, person=person, reason=reason)
    return given
