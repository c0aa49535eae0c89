"""Signed links: each link an email carries, for one act by one person on one record, and the secret that signs them."""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditcycle.models.base import Base
from auditcycle.models.organisation import Staff


class Link(Base):
    """One link sent to one person: its random id is what the signed token carries; this row says if it still works."""

    __tablename__ = "link"
    # The sender's key (an outbox message's, say): a phase run again finds its link instead of making a second.
    __table_args__ = (UniqueConstraint("issue_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    subject_ref: Mapped[str] = mapped_column(String(80), index=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    issue_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(200))

    staff: Mapped[Staff] = relationship(foreign_keys=[staff_id])
    used_by: Mapped[Staff | None] = relationship(foreign_keys=[used_by_id])


class LinkSecret(Base):
    """The secret that signs links when no link_secret_keys are set: made once per database, never shown."""

    __tablename__ = "link_secret"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
