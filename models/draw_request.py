"""Requests to draw a sample, kept here so that their free text never travels as a Prefect parameter."""
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from auditcycle.models.base import Base, enum_column
from auditcycle.models.enums import Cohort, CycleKind


class DrawRequest(Base):
    """One request for a deep dive, a dip sample or a monthly sample's theme, and the cycle that answered it."""

    __tablename__ = "draw_request"
    __table_args__ = (
        # One request per console form: a replayed or double-clicked POST finds the row the first one stored.
        UniqueConstraint("form_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CycleKind] = mapped_column(enum_column(CycleKind, "draw_request_kind"))
    theme: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None]
    due_date: Mapped[date | None]
    cohort: Mapped[Cohort | None] = mapped_column(enum_column(Cohort, "draw_request_cohort"))
    team: Mapped[str | None] = mapped_column(String(120))
    domains: Mapped[str | None] = mapped_column(String(400))  # comma-separated slugs of a dip sample
    requested_by_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    requested_at: Mapped[datetime]
    # Set in the transaction that draws (or reuses) the cycle, so a re-run of the request draws nothing new.
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("audit_cycle.id"))
    # The one-time key of the console form that asked for it (None from the command line).
    form_key: Mapped[str | None] = mapped_column(String(64))
    # The Prefect flow run the console started for it, when a Prefect server runs the deployments.
    flow_run_id: Mapped[str | None] = mapped_column(String(40))
