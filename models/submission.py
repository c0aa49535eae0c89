"""Submitted audit forms, their grades, family feedback and the history of every grade."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditcycle.models.audit import Audit
from auditcycle.models.base import Base
from auditcycle.models.organisation import Staff


class Submission(Base):
    """A completed audit form."""

    __tablename__ = "submission"
    __table_args__ = (UniqueConstraint("audit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"))
    submitted_by_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    overall: Mapped[str] = mapped_column(String(40))
    strengths: Mapped[str] = mapped_column(Text, default="")
    practitioner_feedback: Mapped[str] = mapped_column(Text, default="")
    disagreement: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)
    # The form as checked and stored, whole: its evidence, domains not applicable and conversations held.
    form: Mapped[dict | None] = mapped_column(JSON)
    submitted_at: Mapped[datetime]
    recorded_at: Mapped[datetime]

    audit: Mapped[Audit] = relationship()
    submitted_by: Mapped[Staff] = relationship()
    grades: Mapped[list["DomainGrade"]] = relationship(back_populates="submission")
    family_feedback: Mapped[list["FamilyFeedback"]] = relationship(back_populates="submission")


class DomainGrade(Base):
    """The current grade of one audit domain."""

    __tablename__ = "domain_grade"
    __table_args__ = (UniqueConstraint("submission_id", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"))
    domain: Mapped[str] = mapped_column(String(60))
    grade: Mapped[str] = mapped_column(String(40))

    submission: Mapped[Submission] = relationship(back_populates="grades")


class GradeChange(Base):
    """One change to a grade: who made it, when, and the old and new value."""

    __tablename__ = "grade_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"), index=True)
    domain: Mapped[str] = mapped_column(String(60))  # "overall" for the overall grade
    old_grade: Mapped[str | None] = mapped_column(String(40))
    new_grade: Mapped[str] = mapped_column(String(40))
    changed_by_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(String(40))
    changed_at: Mapped[datetime]
    recorded_at: Mapped[datetime]


class FamilyFeedback(Base):
    """The outcome of one attempted contact with the child or family."""

    __tablename__ = "family_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    relation: Mapped[str] = mapped_column("relationship", String(60))
    outcome: Mapped[str] = mapped_column(String(20))
    interpreter_used: Mapped[bool] = mapped_column(default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
    # The call booked for it, where the form named one (the page's rows all do; a form file may not).
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"))

    submission: Mapped[Submission] = relationship(back_populates="family_feedback")


class Dispute(Base):
    """A disagreement with an audit's grade, which sends the audit to moderation."""

    __tablename__ = "dispute"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"), index=True)
    raised_by_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    note: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime]
    recorded_at: Mapped[datetime]


class BuddyReview(Base):
    """The buddy's word on one version of a new auditor's form: agreed, or a comment for the auditor."""

    __tablename__ = "buddy_review"
    __table_args__ = (UniqueConstraint("submission_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"))
    version: Mapped[int]
    reviewer_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    agreed: Mapped[bool]
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime]
    recorded_at: Mapped[datetime]

    reviewer: Mapped[Staff] = relationship()
