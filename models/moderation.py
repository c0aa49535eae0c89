"""Moderation of submitted audits."""
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditcycle.models.audit import Audit
from auditcycle.models.base import Base, enum_column
from auditcycle.models.enums import ModerationStatus


class Moderation(Base):
    """An audit chosen for moderation, and the panel's decision."""

    __tablename__ = "moderation"
    __table_args__ = (UniqueConstraint("audit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"))
    reason: Mapped[str] = mapped_column(String(60))
    moderator_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    assistant_director_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    decided_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    # A good or better grade is final only once an assistant director has agreed it (the framework).
    director_agreed_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[ModerationStatus] = mapped_column(enum_column(ModerationStatus, "moderation_status"))
    original_overall: Mapped[str | None] = mapped_column(String(40))
    moderated_overall: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    selected_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime | None]
    director_agreed_at: Mapped[datetime | None]

    audit: Mapped[Audit] = relationship()
