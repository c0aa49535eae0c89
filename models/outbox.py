"""The outbox: messages written with the change that caused them, sent after commit."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditcycle.models.base import Base, enum_column
from auditcycle.models.enums import MessageStatus


class OutboxMessage(Base):
    """One email to one recipient, with its delivery state."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        # phase, subject, step and recipient: the same message can never be queued twice.
        UniqueConstraint("idempotency_key"),
        UniqueConstraint("message_id"),
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    phase: Mapped[str] = mapped_column(String(30))
    subject_ref: Mapped[str] = mapped_column(String(80))
    step: Mapped[str] = mapped_column(String(60))
    recipient_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    recipient_email: Mapped[str] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    calendar: Mapped[str | None] = mapped_column(Text)
    calendar_method: Mapped[str | None] = mapped_column(String(20))  # REQUEST, CANCEL, DECLINECOUNTER
    importance: Mapped[str | None] = mapped_column(String(10))
    attachment_name: Mapped[str | None] = mapped_column(String(120))
    attachment_path: Mapped[str | None] = mapped_column(String(400))
    message_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[MessageStatus] = mapped_column(enum_column(MessageStatus, "message_status"))
    attempts: Mapped[int] = mapped_column(default=0)
    last_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # The run (its lease holder name, host and process id) that last claimed the message for sending, so a
    # run taking over from a killed one can release that run's claims at once (see runs.leases.acquire).
    claimed_by: Mapped[str | None] = mapped_column(String(120))


class OutboxItem(Base):
    """One item a digest told its recipient about, under the key the item would have had as a message alone."""

    __tablename__ = "outbox_item"
    __table_args__ = (
        # An item is told to a person once, alone or in one digest.
        UniqueConstraint("item_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id"))
    item_key: Mapped[str] = mapped_column(String(255))
    digest: Mapped[OutboxMessage] = relationship()


class MailSend(Base):
    """One message the gateway was allowed to send from a mailbox, and when: the count a provider's limits apply to."""

    __tablename__ = "mail_send"
    __table_args__ = (Index("ix_mail_send_mailbox_sent_at", "mailbox", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(254))
    sent_at: Mapped[datetime]
    # Kept so a send granted and then put back unsent (a drain asked to stop) gives its place back.
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_message.id", ondelete="CASCADE"))
