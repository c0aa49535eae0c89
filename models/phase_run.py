"""A record of every run of a phase."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from auditcycle.core.clock import Month
from auditcycle.models.base import Base, enum_column
from auditcycle.models.enums import PhaseRunStatus


class PhaseRun(Base):
    """One run of a phase, with the clock it ran under and what it did."""

    __tablename__ = "phase_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    phase: Mapped[str] = mapped_column(String(30), index=True)
    month: Mapped[Month | None]
    clock: Mapped[datetime]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[PhaseRunStatus] = mapped_column(enum_column(PhaseRunStatus, "phase_run_status"))
    flow_run_id: Mapped[str | None] = mapped_column(String(40))
    summary: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    # The stored request a deep dive's or dip sample's run draws, so its progress can be shown by reference.
    request_id: Mapped[int | None] = mapped_column(ForeignKey("draw_request.id"), index=True)
