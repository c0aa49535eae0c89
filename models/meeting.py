"""Meetings booked for an audit: learning conversations, family calls and more."""
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditcycle.models.audit import Audit
from auditcycle.models.base import Base, enum_column
from auditcycle.models.child import FamilyContact
from auditcycle.models.enums import MeetingKind, MeetingStatus
from auditcycle.models.organisation import Staff


class Meeting(Base):
    """A calendar booking; its UID is stable and its sequence rises with each update."""

    __tablename__ = "meeting"
    __table_args__ = (
        UniqueConstraint("reference"),
        UniqueConstraint("uid"),
        # One booking per audit, kind and contact: a re-run cannot book twice.
        UniqueConstraint("audit_id", "kind", "slot_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    uid: Mapped[str] = mapped_column(String(120))
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"), index=True)
    kind: Mapped[MeetingKind] = mapped_column(enum_column(MeetingKind, "meeting_kind"))
    slot_key: Mapped[str] = mapped_column(String(60), default="")
    organiser_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    attendee_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("family_contact.id"))
    interpreter_language: Mapped[str | None] = mapped_column(String(60))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    sequence: Mapped[int] = mapped_column(default=0)
    status: Mapped[MeetingStatus] = mapped_column(enum_column(MeetingStatus, "meeting_status"))
    booked_at: Mapped[datetime]
    # A Teams join link made through Microsoft Graph (learning conversations, where configured): the invite's
    # location, in place of the organiser's room.
    join_url: Mapped[str | None] = mapped_column(String(2000))

    audit: Mapped[Audit] = relationship()
    organiser: Mapped[Staff] = relationship(foreign_keys=[organiser_id])
    attendee: Mapped[Staff | None] = relationship(foreign_keys=[attendee_id])
    contact: Mapped[FamilyContact | None] = relationship()


class MeetingAnswer(Base):
    """An invited person's latest answer to an audit meeting: an optional attendee's "I can't come", or the
    accepted, tentative or declined of a calendar reply (invitations.replies)."""

    __tablename__ = "meeting_answer"
    __table_args__ = (UniqueConstraint("meeting_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"))
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    answer: Mapped[str] = mapped_column(String(20))  # "accepted", "tentative" or "declined"
    sequence: Mapped[int]  # the version of the meeting's time it answers
    # As they wrote it (the link's reason, or an invite reply's COMMENT); mail and the trail carry it redacted.
    reason: Mapped[str | None] = mapped_column(Text)
    # Where it came from: the invite's link, or a calendar reply read from the QA mailbox.
    source: Mapped[str] = mapped_column(String(20), default="link", server_default="link")
    answered_at: Mapped[datetime]
    recorded_at: Mapped[datetime]

    meeting: Mapped[Meeting] = relationship()
    person: Mapped[Staff] = relationship()


class DiaryRecheck(Base):
    """A meeting booked while someone's diary could not be read: the next booking run reads it again and moves
    the meeting if it clashes."""

    __tablename__ = "diary_recheck"
    __table_args__ = (UniqueConstraint("meeting_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(Text)  # why the diary could not be read, as the source said it
    noted_at: Mapped[datetime]

    meeting: Mapped[Meeting] = relationship()
