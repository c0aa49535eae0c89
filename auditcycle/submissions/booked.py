"""The meetings booked for an audit as its form records them: a row for each call with a family contact or the
young person, and each key conversation's date and length (framework: "key conversations", "family/parent/
child/young person feedback").

A form's family feedback row may name its call by the meeting's reference; the form is then checked against
the calls booked for its own audit (`submissions.forms.validate_form`).
"""
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.models import Audit, Meeting
from auditcycle.models.enums import MeetingKind, MeetingStatus

YOUNG_PERSON = "young person"
# A family call whose contact was erased by retention keeps its time and kind, and no relationship.
UNKNOWN_CONTACT = "family"
# The form's kinds of conversation held, and the kind of meeting booked for each.
CONVERSATION_MEETINGS = {
    "learning_conversation": MeetingKind.LEARNING_CONVERSATION,
    "iro_cp_chair": MeetingKind.IRO_CONVERSATION,
    "team_manager": MeetingKind.MANAGER_CONVERSATION,
}


@dataclass(frozen=True)
class BookedCall:
    """A call booked with a family contact or the young person: whom, by relationship and initials, and when."""

    meeting_id: int
    reference: str
    relationship: str
    initials: str
    starts_at: datetime
    minutes: int
    interpreter_language: str | None


@dataclass(frozen=True)
class BookedConversation:
    """A key conversation as booked: when, its day and length, and whether it has begun."""

    starts_at: datetime
    held_on: date
    minutes: int
    started: bool


def _minutes(meeting: Meeting) -> int:
    return int((meeting.ends_at - meeting.starts_at).total_seconds() // 60)


def family_calls(session: Session, audit: Audit) -> list[BookedCall]:
    """List the audit's booked calls with the young person and each family contact, the young person first."""
    meetings = session.scalars(
        select(Meeting).where(Meeting.audit_id == audit.id, Meeting.status == MeetingStatus.BOOKED,
                              Meeting.kind.in_([MeetingKind.YOUNG_PERSON_CALL, MeetingKind.FAMILY_CALL])))
    calls = []
    for meeting in meetings:
        if meeting.kind == MeetingKind.YOUNG_PERSON_CALL:
            who, initials = YOUNG_PERSON, audit.child.initials
        elif meeting.contact is not None:
            who, initials = meeting.contact.relation, meeting.contact.initials
        else:
            who, initials = UNKNOWN_CONTACT, ""
        calls.append(BookedCall(meeting.id, meeting.reference, who, initials, meeting.starts_at, _minutes(meeting),
                                meeting.interpreter_language))
    return sorted(calls, key=lambda c: (c.relationship != YOUNG_PERSON, c.starts_at, c.reference))


def booked_conversations(session: Session, ctx: AppContext, audit: Audit) -> dict[str, BookedConversation]:
    """Return, for each kind of conversation the form records, the first meeting booked for it in this audit."""
    kinds = {kind: name for name, kind in CONVERSATION_MEETINGS.items()}
    found: dict[str, BookedConversation] = {}
    for meeting in session.scalars(
            select(Meeting).where(Meeting.audit_id == audit.id, Meeting.status == MeetingStatus.BOOKED,
                                  Meeting.kind.in_(list(kinds))).order_by(Meeting.starts_at, Meeting.id)):
        found.setdefault(kinds[meeting.kind], BookedConversation(
            meeting.starts_at, ctx.timescales.today(meeting.starts_at), _minutes(meeting), meeting.starts_at <= ctx.now))
    return found
