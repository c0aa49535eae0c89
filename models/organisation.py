"""Services, teams, staff and their busy periods."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from auditcycle.models.base import Base, enum_column
from auditcycle.models.enums import QA_TEAM_ROLES, Role


class Service(Base):
    """A service area, such as Children's Social Care or Early Help."""

    __tablename__ = "service"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)

    teams: Mapped[list["Team"]] = relationship(back_populates="service")


class Team(Base):
    """A team within a service; the stratum of the monthly draw."""

    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    # The team's meeting room or online-meeting link, from the staff import (team_meeting_location).
    meeting_location: Mapped[str | None] = mapped_column(String(500))

    service: Mapped[Service] = relationship(back_populates="teams")


class Staff(Base):
    """A member of staff, identified by the council's own staff id."""

    __tablename__ = "staff"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"), index=True)
    manager_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"), index=True)
    auditor: Mapped[bool] = mapped_column(default=False)
    newly_qualified: Mapped[bool] = mapped_column(default=False)
    new_auditor: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    # The person's own meeting room or online-meeting link, from the staff import (meeting_location).
    meeting_location: Mapped[str | None] = mapped_column(String(500))
    # The council's sign-in service's stable id for the person (Entra's oid, else sub), linked at their first
    # sign-in; the email claim is used only to make that first link, as it is not verified and can change.
    oidc_subject: Mapped[str | None] = mapped_column(String(255), unique=True)

    team: Mapped[Team | None] = relationship()
    service: Mapped[Service | None] = relationship()
    manager: Mapped["Staff | None"] = relationship(remote_side=[id])

    @property
    def in_qa_team(self) -> bool:
        """Say whether this person belongs to the Quality Assurance team."""
        return self.role in QA_TEAM_ROLES


class BusyPeriod(Base):
    """A time when a member of staff cannot be booked."""

    __tablename__ = "busy_period"
    __table_args__ = (
        UniqueConstraint("staff_id", "starts_at", "ends_at"),
        Index("ix_busy_period_staff_window", "staff_id", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(20), default="import")


def get_staff(*, session: Session, staff_id: str) -> Staff | None:
    """Get one member of staff by id."""
    return session.get(Staff, staff_id)


def team_by_name(*, session: Session) -> dict[str, Team]:
    """Map every team's name to the team."""
    return {t.name: t for t in session.scalars(select(Team))}


def service_by_name(*, session: Session) -> dict[str, Service]:
    """Map every service's name to the service."""
    return {s.name: s for s in session.scalars(select(Service))}
