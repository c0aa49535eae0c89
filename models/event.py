"""The trail of every step taken: who or what did it, when, and to which item."""
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from auditcycle.models.base import Base


class Event(Base):
    """One logged step, such as an Immediate Response reminded or escalated."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_ref: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]
    recorded_at: Mapped[datetime]
