"""What the database is, a council's real record or a simulation, and the clock each allows.

On a real database every decision is dated with the real time: `--now` is refused. A demo, a replay
or a rehearsal on imported files is made on a database created as a simulation, where the clock may
be set, but only with AUDITCYCLE_SIMULATION on, so neither the switch alone nor a copied database
alone can back-date a decision.
"""
import os

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.core.clock import wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.core.settings import get_settings
from auditcycle.models import Installation, Staff


def is_simulation(session: Session) -> bool:
    """Say whether this database was created as a simulation."""
    return bool(session.scalar(select(Installation.simulation).where(Installation.id == 1)))


def mark_simulation(session: Session) -> None:
    """Mark a new, empty database as a simulation; refuse one that already holds a council's staff."""
    if is_simulation(session):
        return
    if session.scalar(select(func.count()).select_from(Staff)):
        raise UserError("this database already holds staff and was not created as a simulation: a demo or "
                        "rehearsal needs a database of its own (AUDITCYCLE_DATABASE_URL)")
    session.add(Installation(id=1, simulation=True, created_at=wall_clock()))
    session.flush()


def check_clock(session: Session, ctx: AppContext) -> None:
    """Refuse a decision whose clock is not the real time, unless this is a simulation on a simulation database."""
    if ctx.settings.simulation and not is_simulation(session):
        raise UserError("AUDITCYCLE_SIMULATION is set, but this database is a council's real record, not one "
                        "created as a simulation (by `auditcycle demo`, `seed-demo`, `simulate` or "
                        "`init --simulation`): unset it")
    if ctx.clock_set and not ctx.settings.simulation:
        raise UserError("--now is for a demo or a rehearsal only: decisions here are dated with the real time "
                        "(leave --now out)")


def begin_simulation(session: Session) -> None:
    """Mark this database a simulation and let this process set the clock: for a demo, a replay or a rehearsal."""
    mark_simulation(session)
    # The switch is the setting every later context reads; this process's runs are the simulation's.
    os.environ["AUDITCYCLE_SIMULATION"] = "1"
    get_settings.cache_clear()
