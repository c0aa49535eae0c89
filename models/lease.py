"""Leases that keep one run of each phase at a time, whoever started it."""
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from auditcycle.models.base import Base


class PhaseLease(Base):
    """The current holder of a phase, until the lease expires (so a killed run cannot hold it for ever)."""

    __tablename__ = "phase_lease"

    phase: Mapped[str] = mapped_column(String(30), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]
