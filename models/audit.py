"""Audit cycles, the audits drawn in them, and good-practice nominations."""
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditcycle.core.clock import Month
from auditcycle.models.base import Base, enum_column
from auditcycle.models.child import Child
from auditcycle.models.enums import AuditKind, AuditStatus, Cohort, CycleKind
from auditcycle.models.organisation import Staff


class AuditCycle(Base):
    """One month's audit cycle, or an ad-hoc deep dive or dip sample."""

    __tablename__ = "audit_cycle"
    __table_args__ = (UniqueConstraint("reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    kind: Mapped[CycleKind] = mapped_column(enum_column(CycleKind, "cycle_kind"))
    month: Mapped[Month] = mapped_column(index=True)
    theme: Mapped[str | None] = mapped_column(String(200))
    cohort_filter: Mapped[Cohort | None] = mapped_column(enum_column(Cohort, "cohort_filter"))
    team_filter: Mapped[str | None] = mapped_column(String(120))
    seed: Mapped[int | None]
    sample_size: Mapped[int | None]
    due_date: Mapped[date]
    sampled_at: Mapped[datetime | None]
    # The QA team's review of a monthly list: notices wait until it is approved or its window closes.
    list_review_closes_at: Mapped[datetime | None]
    list_approved_at: Mapped[datetime | None]
    list_approved_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    moderation_uid: Mapped[str | None] = mapped_column(String(120))
    moderation_starts_at: Mapped[datetime | None]
    moderation_ends_at: Mapped[datetime | None]
    # The panel invite's SEQUENCE: it rises each time the panel moves, as a Meeting's does.
    moderation_sequence: Mapped[int] = mapped_column(default=0)
    moderation_closed_at: Mapped[datetime | None]
    learning_uid: Mapped[str | None] = mapped_column(String(120))
    learning_starts_at: Mapped[datetime | None]
    learning_ends_at: Mapped[datetime | None]
    report_notes: Mapped[str | None] = mapped_column(Text)
    # The QA manager's executive summary, replacing the drafted one; who set it (the trail keeps when).
    report_summary: Mapped[str | None] = mapped_column(Text)
    report_summary_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    focus_domains: Mapped[str | None] = mapped_column(String(400))  # comma-separated slugs of a dip sample

    audits: Mapped[list["Audit"]] = relationship(back_populates="cycle", order_by="Audit.id")


class Audit(Base):
    """One child's record drawn for audit, with its auditor and lifecycle status."""

    __tablename__ = "audit"
    __table_args__ = (UniqueConstraint("reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    cycle_id: Mapped[int] = mapped_column(ForeignKey("audit_cycle.id"), index=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("child.id"), index=True)
    auditor_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"), index=True)
    buddy_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    kind: Mapped[AuditKind] = mapped_column(enum_column(AuditKind, "audit_kind"))
    status: Mapped[AuditStatus] = mapped_column(enum_column(AuditStatus, "audit_status"), index=True)
    due_date: Mapped[date]
    stratum: Mapped[str | None] = mapped_column(String(120))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("audit.id"))
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    # Who and where the child's case was: taken at the draw, taken again at the first submission, then kept,
    # so trends and the report count the audit where it was done, whatever the child's allocation later.
    key_worker_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    cohort: Mapped[Cohort] = mapped_column(enum_column(Cohort, "audit_cohort"))
    # The team manager's record that the audit was discussed at the practitioner's supervision.
    supervision_discussed_at: Mapped[datetime | None]
    supervision_discussed_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    # The auditor's form as last saved to return to later, unchecked; cleared when the form is submitted.
    form_draft: Mapped[dict | None] = mapped_column(JSON)

    cycle: Mapped[AuditCycle] = relationship(back_populates="audits")
    child: Mapped[Child] = relationship()
    auditor: Mapped[Staff | None] = relationship(foreign_keys=[auditor_id])
    buddy: Mapped[Staff | None] = relationship(foreign_keys=[buddy_id])
    supervision_discussed_by: Mapped[Staff | None] = relationship(foreign_keys=[supervision_discussed_by_id])


class Nomination(Base):
    """A service manager's nomination of a child's record as good practice."""

    __tablename__ = "nomination"
    __table_args__ = (UniqueConstraint("month", "child_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[Month]
    child_id: Mapped[str] = mapped_column(ForeignKey("child.id"))
    nominated_by_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    nominated_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit.id"))
    # Why the record is an example of good practice, as the service manager wrote it (none before 0032).
    reason: Mapped[str | None] = mapped_column(Text)
