"""A whole audit month, every phase through Prefect with all logging at DEBUG: no planted name anywhere.

The authority's children and family contacts carry distinctive planted names, a birth date and a phone
number (conftest.PLANTED). After the month is replayed and the retention phase has run, every place the
software writes to is searched for them: stored and received mail, phase runs, the audit trail, the
reports folder, every log record of the auditcycle and prefect loggers, the console, Prefect's database
and PREFECT_HOME.
"""
import logging
from pathlib import Path

import pytest
from conftest import PLANTED, PREFECT_HOME, QA_MANAGER
from privacy_checks import _dump_sqlite, _planted_values, _run_month
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from auditcycle.core.clock import Month
from auditcycle.models import OutboxMessage, PhaseRun, TrailEntry

MONTH = Month(2026, 12)
# Long enough after the December cycle (due 31 December 2026) for two years' retention to erase it.
RETENTION_NOW = "2029-01-04T06:00"


class Collect(logging.Handler):
    """Keep every record, formatted with its arguments and any traceback."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_logs() -> Collect:
    """Turn the auditcycle and prefect loggers up to DEBUG and collect what they write."""
    handler = Collect()
    names = ["auditcycle", "prefect"] + [n for n in logging.root.manager.loggerDict
                                         if n.startswith(("auditcycle.", "prefect."))]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    logging.getLogger("auditcycle").addHandler(handler)
    logging.getLogger("prefect").addHandler(handler)
    yield handler
    logging.getLogger("auditcycle").removeHandler(handler)
    logging.getLogger("prefect").removeHandler(handler)
    for lg, level in zip(loggers, levels):
        lg.setLevel(level)


def _text_files(folder: Path) -> str:
    return "\n".join(p.read_text("utf-8", "replace") for p in folder.rglob("*")
                     if p.is_file() and p.suffix in {".html", ".csv", ".txt", ".json", ".eml", ".ics", ".md"})


def _places(authority, smtp_server, prefect_db: str, logs: Collect, console, folder: Path) -> dict[str, str]:
    """Return the text of every place the software writes to, by name."""
    with sessionmaker(bind=authority)() as s:
        stored = "\n".join(f"{m.subject}\n{m.body_text}\n{m.body_html}\n{m.calendar or ''}\n{m.last_error or ''}"
                           for m in s.scalars(select(OutboxMessage)))
        runs = "\n".join(f"{r.phase} {r.summary} {r.error or ''}" for r in s.scalars(select(PhaseRun)))
        trail = "\n".join(f"{t.actor} {t.action} {t.entity} {t.entity_id} {t.changes}"
                          for t in s.scalars(select(TrailEntry)))
    return {
        "stored messages": stored,
        "received mail": b"\n".join(r.data for r in smtp_server.received).decode("utf-8", "replace"),
        "decoded mail": "\n".join(part.get_content() for r in smtp_server.received for part in r.message.walk()
                                  if part.get_content_maintype() == "text"),
        "phase runs": runs,
        "audit trail": trail,
        "reports folder": _text_files(folder / "reports"),
        "log records (DEBUG)": "\n".join(logs.lines),
        "console": console.out + console.err,
        "Prefect database": _dump_sqlite(prefect_db),
        "Prefect home": "\n".join(p.read_text("utf-8", "replace") for p in PREFECT_HOME.rglob("*")
                                  if p.is_file() and p.stat().st_size < 5_000_000 and p.suffix != ".db"),
    }


def _trail_count(engine) -> int:
    with sessionmaker(bind=engine)() as s:
        return s.scalar(select(func.count()).select_from(TrailEntry))


def _hits(places: dict[str, str]) -> set[tuple[str, str]]:
    return {(where, value) for where, text in places.items() for value in _planted_values() if value in text}


def _report(what: str, places: dict[str, str], logs: Collect, hits: set) -> None:
    trail_rows = places["audit trail"].count("\n") + 1
    print(f"privacy scan ({what}): {len(_planted_values())} planted values, {len(places)} places, "
          f"{sum(len(t) for t in places.values()):,} characters, {len(logs.lines):,} log records, "
          f"{trail_rows:,} trail rows, {len(hits)} hits")


def test_phases_and_retention_at_debug_leave_no_planted_personal_data(authority, smtp_env, prefect_harness,
                                                                      debug_logs, capfd, tmp_path) -> None:
    from auditcycle.flows.chase import chase
    from auditcycle.flows.retention import retention

    _run_month(23)
    chased = chase(month="2026-12", now="2027-01-04T09:00", by=QA_MANAGER)
    purged = retention(now=RETENTION_NOW, by=QA_MANAGER)
    places = _places(authority, smtp_env, prefect_harness, debug_logs, capfd.readouterr(), tmp_path)

    # The scans see real content: mail arrived, the trail names the erased fields, DEBUG lines were kept.
    assert smtp_env.received and chased["delivery"]["sent"] > 0 and purged["children"] > 0
    assert "first_name" in places["audit trail"] and QA_MANAGER in places["audit trail"]  # run by the QA manager
    assert any(" DEBUG " in line for line in debug_logs.lines)
    # The scan reads Prefect's flow runs (the QA manager who started them) but not the theme, kept in our database.
    assert QA_MANAGER in places["Prefect database"] and "Voice of the child" not in places["Prefect database"]
    hits = _hits(places)
    _report("sample, notify, book, chase, retention", places, debug_logs, hits)
    assert hits == set()


@pytest.mark.sweep
def test_a_month_with_every_phase_leaves_no_planted_personal_data(authority, smtp_env, prefect_harness,
                                                                  debug_logs, capfd, tmp_path) -> None:
    from auditcycle.cli import deliver_queued as _deliver
    from auditcycle.cli.demo import _replay_settings, _run_phase
    from auditcycle.demo.replay import replay_month
    from auditcycle.flows.retention import retention

    seeded = _trail_count(authority)
    with _replay_settings():
        replay = replay_month(MONTH, seed=3, run_phase=_run_phase, deliver=_deliver)
        month_rows = _trail_count(authority) - seeded
        purged = retention(now=RETENTION_NOW, by=QA_MANAGER)
    places = _places(authority, smtp_env, prefect_harness, debug_logs, capfd.readouterr(), tmp_path)

    assert set(replay.phase_runs) >= {"sample", "notify", "book", "chase", "moderate", "report"}
    assert purged["children"] > 0 and smtp_env.received
    assert places["reports folder"]
    assert "first_name" in places["audit trail"]
    assert any(" DEBUG " in line for line in debug_logs.lines)
    hits = _hits(places)
    _report("a whole month, every phase", places, debug_logs, hits)
    print(f"trail rows: {seeded:,} from seeding the authority, {month_rows:,} from the month "
          f"({sum(replay.phase_runs.values())} phase runs, {sum(replay.decisions.values())} decisions), "
          f"{_trail_count(authority) - seeded - month_rows:,} from retention ({purged['children']} children)")
    assert hits == set()


def test_the_scan_finds_a_planted_name_when_one_is_logged(debug_logs) -> None:
    logging.getLogger("auditcycle.test").debug("looked up %s", PLANTED["child_first"])

    assert any(PLANTED["child_first"] in line for line in debug_logs.lines)
