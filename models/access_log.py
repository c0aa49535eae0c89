"""The access log: who looked at which children's records in the console, and who exported them."""
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditcycle.models.base import Base
from auditcycle.models.organisation import Staff


class AccessLogEntry(Base):
    """One page shown with children's names, or one export: who, when, which page and with what filters."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    # The decision clock's moment (what the page showed was as of then) and the real one.
    at: Mapped[datetime] = mapped_column(index=True)
    recorded_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(10))  # "view" or "export"
    page: Mapped[str] = mapped_column(String(80))  # "tracker: audits"
    # The page's filters as its query string (months, ids and slugs: never free text or a name).
    query: Mapped[str] = mapped_column(String(500), default="")

    staff: Mapped[Staff] = relationship()
    records: Mapped[list["AccessLogRecord"]] = relationship(back_populates="entry", order_by="AccessLogRecord.id")


class AccessLogRecord(Base):
    """One child's record an access showed or exported, by case id.

    No foreign key to the child: the log outlives the record's personal fields and answers for them.
    """

    __tablename__ = "access_log_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("access_log.id"), index=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)

    entry: Mapped[AccessLogEntry] = relationship(back_populates="records")
