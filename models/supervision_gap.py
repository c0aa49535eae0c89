"""A supervision gap the records suggest, and the auditor's finding on it."""
from datetime import date, datetime

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditcycle.models.audit import Audit
from auditcycle.models.base import Base, enum_column
from auditcycle.models.enums import SupervisionGapStatus
from auditcycle.models.immediate_response import ImmediateResponse
from auditcycle.models.organisation import Staff


class SupervisionGap(Base):
    """A sampled child whose imported last supervision is the gap's months old or more, or never recorded."""

    __tablename__ = "supervision_gap"
    __table_args__ = (UniqueConstraint("audit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"))
    since: Mapped[date | None]  # the last supervision on record; None when there is none
    status: Mapped[SupervisionGapStatus] = mapped_column(
        enum_column(SupervisionGapStatus, "supervision_gap_status"), index=True)
    found_at: Mapped[datetime]
    decide_by: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime | None]
    response_id: Mapped[int | None] = mapped_column(ForeignKey("immediate_response.id"))

    audit: Mapped[Audit] = relationship()
    decided_by: Mapped[Staff | None] = relationship()
    response: Mapped[ImmediateResponse | None] = relationship()
