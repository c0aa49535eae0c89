"""Audit actions, tracked to sign-off."""
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditcycle.models.audit import Audit
from auditcycle.models.base import Base, enum_column
from auditcycle.models.enums import ActionStatus
from auditcycle.models.organisation import Staff


class Action(Base):
    """An action raised by an audit, owned by a practitioner or manager."""

    __tablename__ = "action"
    __table_args__ = (UniqueConstraint("reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    due_date: Mapped[date] = mapped_column(index=True)
    status: Mapped[ActionStatus] = mapped_column(enum_column(ActionStatus, "action_status"), index=True)
    escalation_step: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    reopen_count: Mapped[int] = mapped_column(default=0)
    signed_off_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    signed_off_at: Mapped[datetime | None]
    quality: Mapped[str | None] = mapped_column(String(10))
    sign_off_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    recorded_at: Mapped[datetime]

    audit: Mapped[Audit] = relationship()
    owner: Mapped[Staff] = relationship(foreign_keys=[owner_id])
