"""The invite replies read from the QA mailbox: each message once, with what it did."""
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from auditcycle.models.base import Base, enum_column


class ReplyOutcome(StrEnum):
    """What reading one mailbox message did."""

    RECORDED = "recorded"  # an answer kept on the meeting
    REBOOKED = "rebooked"  # a required attendee declined; the meeting moved
    HANDED_OVER = "handed_over"  # declined, and the QA manager books it by hand
    COUNTER_ACCEPTED = "counter_accepted"
    COUNTER_DECLINED = "counter_declined"
    STALE = "stale"  # answers an older time, or is older than the answer kept
    HELD = "held"  # could not be trusted; the QA manager decides
    UNKNOWN_MEETING = "unknown_meeting"
    NOT_A_REPLY = "not_a_reply"  # no calendar reply in it
    UNREADABLE = "unreadable"  # too large or malformed
    DUPLICATE = "duplicate"  # the same Message-ID was read before


class ReplyMessage(Base):
    """One message of the QA mailbox, read once: stored in the same transaction as its effect."""

    __tablename__ = "reply_message"
    __table_args__ = (UniqueConstraint("mailbox", "uid_validity", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(600))  # user@host/folder
    uid_validity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    outcome: Mapped[ReplyOutcome] = mapped_column(enum_column(ReplyOutcome, "reply_outcome"))
    method: Mapped[str | None] = mapped_column(String(20))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"), index=True)
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    sequence: Mapped[int | None]
    dtstamp: Mapped[datetime | None]
    # Why, in auditcycle's own words (a sender's address at most); shown through the redactor.
    detail: Mapped[str] = mapped_column(Text, default="")
    handled_at: Mapped[datetime]
