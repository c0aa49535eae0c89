"""Observations of practice."""
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from auditcycle.core.clock import Month
from auditcycle.models.base import Base, enum_column
from auditcycle.models.enums import ObservationStatus, ObservationType, RecommendedFrom


class Observation(Base):
    """An observation of a practitioner's practice, assigned for a month."""

    __tablename__ = "observation"
    __table_args__ = (UniqueConstraint("reference"), UniqueConstraint("month", "practitioner_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    month: Mapped[Month] = mapped_column(index=True)
    observer_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    practitioner_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    theme: Mapped[str | None] = mapped_column(String(200))
    asye: Mapped[bool] = mapped_column(default=False)
    done_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    due_date: Mapped[date]
    status: Mapped[ObservationStatus] = mapped_column(enum_column(ObservationStatus, "observation_status"))
    note: Mapped[str | None] = mapped_column(Text)
    # What the observer saw, recorded with the observation.
    kind: Mapped[ObservationType | None] = mapped_column(enum_column(ObservationType, "observation_type"))
    assigned_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime | None]


class ObservationRecommendation(Base):
    """A practitioner recommended for observation, from an audit or their Personal Development Review."""

    __tablename__ = "observation_recommendation"

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    source: Mapped[RecommendedFrom] = mapped_column(enum_column(RecommendedFrom, "recommended_from"))
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit.id"))
    note: Mapped[str | None] = mapped_column(Text)
    recommended_by_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    recommended_at: Mapped[datetime]
    # The observation that answered it: the next month's assignment takes recommendations first.
    observation_id: Mapped[int | None] = mapped_column(ForeignKey("observation.id"))
