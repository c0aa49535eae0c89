"""The QA console's sign-in sessions, kept on the server: the browser holds only a random token."""
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditcycle.models.base import Base
from auditcycle.models.organisation import Staff


class StaffSession(Base):
    """One signed-in session: who, how they signed in, when it began and was last used, and how it ended."""

    __tablename__ = "staff_session"

    # The SHA-256 of the browser's token: a copy of this table opens no session.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))  # "link" or "oidc"
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(40))

    staff: Mapped[Staff] = relationship()
