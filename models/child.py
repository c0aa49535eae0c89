"""Children on the caseload and their family contacts."""
from datetime import date

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditcycle.models.base import Base, enum_column
from auditcycle.models.enums import Cohort
from auditcycle.models.organisation import Staff, Team


class Child(Base):
    """A child's record, identified by the case-management system's case id.

    Names and date of birth are held for the auditors' own look-up only; they never
    leave the database in a message, an invite, a flow parameter or a log line.
    """

    __tablename__ = "child"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date]
    cohort: Mapped[Cohort] = mapped_column(enum_column(Cohort, "cohort"))
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    key_worker_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"), index=True)
    iro_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    cp_chair_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    last_supervision_date: Mapped[date | None]

    team: Mapped[Team] = relationship()
    key_worker: Mapped[Staff | None] = relationship(foreign_keys=[key_worker_id])
    iro: Mapped[Staff | None] = relationship(foreign_keys=[iro_id])
    cp_chair: Mapped[Staff | None] = relationship(foreign_keys=[cp_chair_id])
    contacts: Mapped[list["FamilyContact"]] = relationship(
        back_populates="child", order_by="FamilyContact.id"
    )

    @property
    def initials(self) -> str:
        """Return the child's initials, the most a message body may show."""
        return f"{self.first_name[:1]}{self.last_name[:1]}".upper()

    def age_on(self, day: date) -> int:
        """Return the child's age in whole years on a day."""
        before_birthday = (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day)
        return day.year - self.date_of_birth.year - before_birthday


class FamilyContact(Base):
    """A parent, carer or other family member the auditor may call."""

    __tablename__ = "family_contact"
    __table_args__ = (UniqueConstraint("child_id", "relationship", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("child.id"), index=True)
    relation: Mapped[str] = mapped_column("relationship", String(60))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(60))
    interpreter_needed: Mapped[bool] = mapped_column(default=False)

    child: Mapped[Child] = relationship(back_populates="contacts")

    @property
    def initials(self) -> str:
        """Return the contact's initials (each part of the name's first letter), the most a page by link may show."""
        return "".join(part[:1] for part in self.name.replace("-", " ").split()).upper()
