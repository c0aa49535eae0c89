"""How to reach the family: what the key worker advises before the family calls are booked (framework: "ask the
allocated practitioner how they communicate")."""
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditcycle.models.audit import Audit
from auditcycle.models.base import Base
from auditcycle.models.child import FamilyContact
from auditcycle.models.organisation import Staff


class FamilyAdvice(Base):
    """The key worker's advice for one audit: asked with the notice, given once, or not given in time."""

    __tablename__ = "family_advice"

    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"), primary_key=True)
    asked_at: Mapped[datetime]
    given_at: Mapped[datetime | None]
    given_by_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))

    audit: Mapped[Audit] = relationship()
    given_by: Mapped[Staff | None] = relationship()
    contacts: Mapped[list["ContactAdvice"]] = relationship(back_populates="advice", order_by="ContactAdvice.contact_id")


class ContactAdvice(Base):
    """The advice on one family contact: their language, an interpreter, the best times, any reason not to call."""

    __tablename__ = "contact_advice"
    __table_args__ = (UniqueConstraint("audit_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("family_advice.audit_id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("family_contact.id"))
    language: Mapped[str | None] = mapped_column(String(60))
    interpreter_needed: Mapped[bool]
    best_times: Mapped[str | None] = mapped_column(String(200))
    do_not_contact_reason: Mapped[str | None] = mapped_column(String(500))

    advice: Mapped[FamilyAdvice] = relationship(back_populates="contacts")
    contact: Mapped[FamilyContact] = relationship()
