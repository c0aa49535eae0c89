"""What this database is: a council's real record, or a simulation (a demo, a rehearsal) where time may be set."""
from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from auditcycle.models.base import Base


class Installation(Base):
    """The one row saying what the database was created as; no row means a council's real database."""

    __tablename__ = "installation"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    simulation: Mapped[bool]
    created_at: Mapped[datetime]
