""""I can't make this time", from the invite of any kind of meeting: one answer, dispatched on the kind.

Every invite carries each invited person's link (purpose `meeting-cant-make`), naming the meeting and the
SEQUENCE of the time that invite gives. What the answer does is the meeting's own rule, kept where that
meeting is booked; none is a scheduler of its own:

- an audit meeting (learning conversation, IRO or CP chair, young person's or family call, team manager
  conversation) moves to the next free slot by the booking rules, before the audit's due date
  (`booking.meetings.move`);
- the moderation panel moves to the next time everyone invited is free, no sooner than the panel's notice
  from now and on or before the day moderation closes (`moderation.panel.move_panel`);
- a Make a Difference interview moves to the next hour the practitioner and the interviewer are both free,
  within the interview's window from now (`learning.culture.move_interview`);
- the reflective learning session is one many people join, so one person's answer does not move it: their
  apology is recorded and the QA team told (`learning.culture.apologise`);
- an optional attendee (a new auditor's buddy) never moves a meeting: their answer is recorded on it and the
  organiser told (`booking.answers.decline_optional`).

A move sends everyone invited the update, with the same UID and a higher SEQUENCE, queued in the same
transaction. An answer to a time the meeting has since left is refused, so an old invite cannot move it again.
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.booking.answers import decline_optional
from auditcycle.booking.meetings import meeting_subject, meeting_title, move, optional_ids, time_label
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError, shown
from auditcycle.core.text import text_problem
from auditcycle.learning.culture import (
    BOOKED,
    SESSION_SEQUENCE,
    apologise,
    get_interview,
    get_session,
    interview_last_day,
    interview_people,
    interview_title,
    move_interview,
    session_attendees,
    session_title,
)
from auditcycle.models import Audit, AuditCycle, MakeADifference, Meeting
from auditcycle.models.enums import MeetingStatus
from auditcycle.moderation.panel import closure_day, get_panel, move_panel, panel_attendees, panel_title
from auditcycle.notifications.notices import day_label
from auditcycle.people.permissions import Subject, authorise
from auditcycle.privacy.redaction import Redactor
from auditcycle.storage.events import log_event

MEETING, PANEL, INTERVIEW, SESSION = "meeting", "panel", "interview", "session"
REASON_MAX = 500
EVENT = "meeting-cant-make"
BOOKED_STATUS = MeetingStatus.BOOKED.value  # every kind says "booked" as an audit meeting does


@dataclass(frozen=True)
class Invited:
    """A meeting an invite was sent for, as the answer sees it, whatever its kind."""

    kind: str
    reference: str
    title: str
    starts_at: datetime
    ends_at: datetime
    sequence: int  # the version of its time the newest invite gives
    status: str
    participant_ids: frozenset[str]  # everyone it was sent to: who may answer
    window: str  # where its rules may move it, in plain words; empty for a meeting that does not move
    record: Meeting | AuditCycle | MakeADifference
    audit: Audit | None = None
    optional_ids: frozenset[str] = frozenset()  # invited only if they can come: their answer never moves it

    def moves_for(self, staff_id: str) -> bool:
        """Say whether this person's answer moves the meeting: not the learning session's, nor an optional one's."""
        return self.kind != SESSION and staff_id not in self.optional_ids


def find_invited(session: Session, ctx: AppContext, reference: str) -> Invited:
    """Find the meeting of any kind a reference names, or say plainly that there is none."""
    if (meeting := session.scalar(select(Meeting).where(Meeting.reference == reference))) is not None:
        return Invited(MEETING, reference, meeting_title(meeting), meeting.starts_at, meeting.ends_at, meeting.sequence,
                       meeting.status.value, meeting_subject(meeting).participant_ids,
                       f"on or before the audit's due date ({day_label(meeting.audit.due_date)})", meeting,
                       meeting.audit, optional_ids(meeting))
    if (cycle := get_panel(session, reference)) is not None:
        assert cycle.moderation_starts_at and cycle.moderation_ends_at
        return Invited(PANEL, reference, panel_title(cycle), cycle.moderation_starts_at, cycle.moderation_ends_at,
                       cycle.moderation_sequence, BOOKED_STATUS,
                       frozenset(p.id for p in panel_attendees(session, cycle)),
                       f"on or before the day moderation closes ({day_label(closure_day(ctx, cycle))})", cycle)
    if (mad := get_interview(session, reference)) is not None:
        assert mad.starts_at and mad.ends_at
        people = interview_people(session, mad)
        return Invited(INTERVIEW, reference, interview_title(people[0]), mad.starts_at, mad.ends_at, mad.sequence,
                       BOOKED_STATUS if mad.status == BOOKED else mad.status, frozenset(p.id for p in people),
                       f"on or before {day_label(interview_last_day(ctx))}", mad)
    if (cycle := get_session(session, reference)) is not None:
        assert cycle.learning_starts_at and cycle.learning_ends_at
        return Invited(SESSION, reference, session_title(cycle), cycle.learning_starts_at, cycle.learning_ends_at,
                       SESSION_SEQUENCE, BOOKED_STATUS, frozenset(p.id for p in session_attendees(session, cycle)),
                       "", cycle)
    raise UserError(f"{shown(reference)}: no meeting has that reference (see `auditcycle list meetings`)")


# Each kind that moves, with its own rules: an update to everyone, or False when no time is free.
MOVES: dict[str, Callable[..., bool]] = {MEETING: move, PANEL: move_panel, INTERVIEW: move_interview}


def _checked_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise UserError(f"reason: at most {REASON_MAX} characters")
    if reason and (problem := text_problem(reason, multiline=True)):
        raise UserError(f"reason: {problem}")
    return reason


def cant_make(session: Session, ctx: AppContext, *, reference: str, by: str, reason: str | None = None,
              sequence: int | None = None) -> Invited:
    """Answer "I can't make this time" for any kind of meeting, by that meeting's own rule; return it as it now is.

    `sequence` is the version of the time the person was answering (their invite's): an answer to a time
    the meeting has since left is refused. Everything the answer changes, and its mail, is in this transaction.
    """
    it = find_invited(session, ctx, reference)
    actor = authorise(session, command="cant-make", staff_id=by,
                      subject=Subject(audit=it.audit, participant_ids=it.participant_ids))
    if it.status != BOOKED_STATUS:
        raise UserError(f"{reference} is {it.status}: there is no time to move")
    was = time_label(ctx, it.starts_at, it.ends_at)
    if sequence is not None and sequence != it.sequence:
        raise UserError(f"{reference} has moved since that invite: it is now {was}. If you cannot make that time "
                        "either, use the link in the newest invite")
    if it.starts_at <= ctx.now:
        raise UserError(f"{reference} has already started, so it can no longer be moved")
    reason = _checked_reason(reason)
    said = f"{actor.name} cannot make {was}" + (f": {reason}" if reason else "")
    redact = Redactor.about(session, it.audit.child if it.audit else None)
    if actor.id in it.optional_ids:
        assert isinstance(it.record, Meeting)
        decline_optional(session, ctx, it.record, person=actor, reason=reason)
        log_event(session, ctx, subject_ref=reference, kind=EVENT, actor_id=actor.id,
                  detail=redact(f"{said}; an optional attendee, so the meeting stays"))
        return it
    if not it.moves_for(actor.id):
        assert isinstance(it.record, AuditCycle)
        apologise(session, ctx, it.record, person=actor, reason=reason)
        log_event(session, ctx, subject_ref=reference, kind=EVENT, actor_id=actor.id,
                  detail=redact(f"{said}; apologies recorded, the session stays"))
        return it
    why = redact(said)
    if not MOVES[it.kind](session, ctx, it.record, reason=why):
        raise UserError(f"no other time is free for {reference} {it.window}, so it stays {was}. Please tell the "
                        f"Quality Assurance team ({ctx.settings.mail_from}), who can move it by hand")
    log_event(session, ctx, subject_ref=reference, kind=EVENT, actor_id=actor.id, detail=why)
    return find_invited(session, ctx, reference)
