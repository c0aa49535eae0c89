"""Make a Difference summaries and interviews, and trend flags: how good practice and patterns are followed up."""
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditcycle.core.clock import Month
from auditcycle.models.base import Base
from auditcycle.models.organisation import Staff


class MakeADifference(Base):
    """A Make a Difference summary of a good audit, or an interview a manager nominated."""

    __tablename__ = "make_a_difference"
    __table_args__ = (UniqueConstraint("reference"), UniqueConstraint("from_audit_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))  # "summary" or "interview"
    status: Mapped[str] = mapped_column(String(20))  # "draft", "approved" or "booked"
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit.id"), unique=True)
    practitioner_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    nominated_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    # An interview nominated from an audit's supervision prompt: one nomination of its key worker per audit.
    from_audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit.id"))
    interviewer_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))  # an interview's, once booked
    summary: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str | None] = mapped_column(Text)
    approved_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    approved_at: Mapped[datetime | None]
    uid: Mapped[str | None] = mapped_column(String(120))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    recorded_at: Mapped[datetime]


class SessionApology(Base):
    """Someone invited to a cycle's reflective learning session who said they cannot come: the session does not move."""

    __tablename__ = "session_apology"
    __table_args__ = (UniqueConstraint("cycle_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("audit_cycle.id"))
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str | None] = mapped_column(Text)  # as they wrote it; mail and the trail carry it redacted
    given_at: Mapped[datetime]
    recorded_at: Mapped[datetime]


class TrendFlag(Base):
    """A pattern trend scrutiny found, raised once per subject and month."""

    __tablename__ = "trend_flag"
    __table_args__ = (UniqueConstraint("kind", "subject_ref", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject_ref: Mapped[str] = mapped_column(String(120))
    month: Mapped[Month] = mapped_column(index=True)
    detail: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime]
    # The service whose managers were told (none for flags raised before 0032): who may record the follow-up.
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    # The follow-up, once, by whichever of those told records it first.
    followed_up_at: Mapped[datetime | None]
    followed_up_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    follow_up_contributed: Mapped[str | None] = mapped_column(Text)  # what contributed to the grade
    follow_up_outcome: Mapped[str | None] = mapped_column(String(40))  # what follows (trends.follow_up.OUTCOMES)
    follow_up_note: Mapped[str | None] = mapped_column(Text)
    follow_up_recorded_at: Mapped[datetime | None]

    followed_up_by: Mapped[Staff | None] = relationship(foreign_keys=[followed_up_by_id])
