"""The append-only audit trail: every change to domain state, who made it and when."""
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from auditcycle.models.base import Base, enum_column
from auditcycle.models.enums import TrailAction

TRAIL_TABLE = "trail_entry"


class TrailEntry(Base):
    """One inserted, updated or deleted row; the database refuses to change or remove it afterwards.

    `changes` maps field names to [old, new] values, except for personal and free-text fields, whose
    names alone are listed: the trail outlives the retention purge, so it must never hold a child's data.
    """

    __tablename__ = TRAIL_TABLE
    __table_args__ = (Index("ix_trail_entry_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))
    # Beside the claimed staff id: the operating-system account and host a command-line action came from.
    os_account: Mapped[str | None] = mapped_column(String(120))
    host: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[TrailAction] = mapped_column(enum_column(TrailAction, "trail_action"))
    entity: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(120))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
