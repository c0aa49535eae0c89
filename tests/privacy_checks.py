"""Helpers the privacy checks share: a month's first phases through Prefect, the planted values, a database dump."""
import sqlite3

from conftest import PLANTED, QA_MANAGER
from factories import approve_list_at

from auditcycle.core.context import build_context
from auditcycle.flows.book import book
from auditcycle.flows.notify import notify
from auditcycle.flows.sample import sample
from auditcycle.models.enums import CycleKind
from auditcycle.sampling.requests import Asked, store_request
from auditcycle.storage.db import session_scope

MONTH = "2026-12"


def _theme(now: str) -> str:
    """Store the month's theme as `auditcycle run sample --theme` does; return the request's reference."""
    with session_scope() as session:
        return store_request(session, build_context(now), by=QA_MANAGER,
                             asked=Asked(kind=CycleKind.MONTHLY, theme="Voice of the child"))


def _run_month(now_day: int) -> list[dict]:
    drawn = sample(month=MONTH, now=f"2026-11-{now_day}T09:00", request=_theme(f"2026-11-{now_day}T09:00"),
                   by=QA_MANAGER)
    with session_scope() as session:
        approve_list_at(session, f"2026-11-{now_day}T09:30", MONTH)
    return [
        drawn,
        notify(month=MONTH, now=f"2026-11-{now_day}T10:00", by=QA_MANAGER),
        book(month=MONTH, now=f"2026-11-{now_day}T11:00", by=QA_MANAGER),
    ]


def _planted_values() -> list[str]:
    values = [PLANTED["child_first"], PLANTED["child_last"], PLANTED["contact_name"], PLANTED["phone"],
              PLANTED["dob"], "17/02/2013", "17 February 2013"]
    return values + [PLANTED["phone"].replace(" ", "")]


def _dump_sqlite(path: str) -> str:
    with sqlite3.connect(path) as conn:
        out = []
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                out.append(" ".join(str(v) for v in row))
    return "\n".join(out)
