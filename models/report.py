"""Editions of the monthly report: the first issue, and any corrected reissues."""
from datetime import datetime

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from auditcycle.core.clock import Month
from auditcycle.models.base import Base


class ReportEdition(Base):
    """One mailed edition of a month's report."""

    __tablename__ = "report_edition"
    __table_args__ = (UniqueConstraint("month", "edition"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[Month] = mapped_column(index=True)
    edition: Mapped[int]
    reissue: Mapped[bool] = mapped_column(default=False)
    provisional: Mapped[bool] = mapped_column(default=False)
    issued_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    # Who issued it: a member of the QA team, or None for a scheduled run (the trail names the run).
    issued_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    # Why a corrected edition was reissued, as the person gave it.
    reason: Mapped[str | None] = mapped_column(Text)
