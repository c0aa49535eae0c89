"""The new-auditor questionnaire's answers: one response an auditor, given once, after their first audit."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditcycle.models.audit import Audit
from auditcycle.models.base import Base
from auditcycle.models.organisation import Staff


class QuestionnaireResponse(Base):
    """An auditor's answers to the questionnaire, each kept with the question as it was asked."""

    __tablename__ = "questionnaire_response"
    __table_args__ = (UniqueConstraint("staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    # The first audit, which the questionnaire asked about.
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"))
    # [{"key": ..., "question": ..., "answer": ... or null}], in the order asked: a council may reword later.
    answers: Mapped[list] = mapped_column(JSON)
    answered_at: Mapped[datetime]
    recorded_at: Mapped[datetime]

    staff: Mapped[Staff] = relationship()
    audit: Mapped[Audit] = relationship()
