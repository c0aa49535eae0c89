"""The year's plan of monthly audit themes, some of them revisits of an earlier theme."""
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from auditcycle.core.clock import Month
from auditcycle.models.base import Base


class PlannedTheme(Base):
    """The theme planned for one audit month; the scheduled draw takes it when no other is given."""

    __tablename__ = "planned_theme"

    month: Mapped[Month] = mapped_column(primary_key=True)
    theme: Mapped[str] = mapped_column(String(200))
    # The framework's themes are "revisited": a revisit is compared in the report with its last time.
    revisit: Mapped[bool] = mapped_column(default=False)
    planned_by_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    planned_at: Mapped[datetime]
