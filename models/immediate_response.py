"""Immediate Responses: safeguarding concerns and supervision gaps found in audit."""
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditcycle.models.audit import Audit
from auditcycle.models.base import Base, enum_column
from auditcycle.models.enums import ResponseStatus, ResponseTrigger
from auditcycle.models.organisation import Staff


class ImmediateResponse(Base):
    """An Immediate Response, due 24 clock hours after it is raised."""

    __tablename__ = "immediate_response"
    __table_args__ = (
        UniqueConstraint("reference"),
        # The supervision-gap trigger fires once per audit however often sampling re-runs.
        UniqueConstraint("audit_id", "trigger", "dedupe_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"), index=True)
    trigger: Mapped[ResponseTrigger] = mapped_column(enum_column(ResponseTrigger, "response_trigger"))
    dedupe_key: Mapped[str] = mapped_column(String(60), default="")
    reason: Mapped[str] = mapped_column(Text)
    raised_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    raised_at: Mapped[datetime]
    deadline_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[ResponseStatus] = mapped_column(enum_column(ResponseStatus, "response_status"), index=True)
    responded_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    responded_at: Mapped[datetime | None]
    response: Mapped[str | None] = mapped_column(Text)
    same_day: Mapped[bool | None]
    escalated_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime]

    audit: Mapped[Audit] = relationship()
    raised_by: Mapped[Staff | None] = relationship(foreign_keys=[raised_by_id])
    responded_by: Mapped[Staff | None] = relationship(foreign_keys=[responded_by_id])
