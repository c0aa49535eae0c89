"""Two councils on one installation run the same month: nothing of one reaches the other's mail, reports, pages or logs.

Northshire's staff names, team names and children's case ids are planted; Southvale's month, through the
CLI and the Prefect engine with a real SMTP server each, is searched for every one of them. Each council's
signed links and sessions are refused on the other's site.
"""
import logging
import re
from pathlib import Path

import pytest
from conftest import PLANTED, QA_MANAGER
from mail_links import link_urls
from region_world import (
    BASES,
    CASE_MARK,
    NORTH,
    SOUTH,
    STAFF_MARK,
    TEAM_MARK,
    council_values,
    plant_northshire,
    second_database,
    seed,
    use_region,
    write_region,
)
from smtp_server import SmtpServer
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
from auditcycle.models import Audit, PhaseRun
from auditcycle.storage import db

runner = CliRunner()
MONTH = "2026-12"
NORTH_MARKS = (STAFF_MARK, TEAM_MARK, CASE_MARK, "Northshire", "northshire", PLANTED["child_first"],
               PLANTED["child_last"], PLANTED["contact_name"], PLANTED["phone"])
STEPS = [("sample", "2026-11-23T09:00"), ("notify", "2026-11-24T12:00"), ("book", "2026-11-25T09:00"),
         ("chase", "2026-12-22T08:00"), ("report", "2027-01-18T11:00")]


class Lines(logging.Handler):
    """Keep every log line written while it is attached, formatted as a log file would hold it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record's message."""
        self.lines.append(f"{record.name} {record.getMessage()}")


@pytest.fixture
def region(authority, db_url, sqlite_template, tmp_path: Path, monkeypatch, prefect_harness, smtp_server):
    """Northshire (the seeded, planted authority) and Southvale (seeded apart), each with its own SMTP server."""
    south_url = second_database(db_url, sqlite_template, tmp_path)
    south_engine = db.make_engine(south_url)
    seed(south_engine, 23, "2026-11-23T09:00")
    plant_northshire(authority)
    with SmtpServer() as south_smtp:
        region_file = write_region(tmp_path, {NORTH: council_values(NORTH, db_url, smtp_server.port),
                                              SOUTH: council_values(SOUTH, south_url, south_smtp.port)})
        monkeypatch.chdir(tmp_path)
        use_region(monkeypatch, region_file)
        yield {NORTH: (authority, smtp_server), SOUTH: (south_engine, south_smtp)}
    south_engine.dispose()
    db.engine_for.cache_clear()


def _cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.output


def _month(council: str, lines: Lines) -> list[str]:
    """Run the month's phases for one council through the CLI; return the log lines its runs wrote."""
    loggers = [logging.getLogger(), logging.getLogger("prefect")]
    for logger in loggers:
        logger.addHandler(lines)
    try:
        for phase, now in STEPS:
            size = ["--size", "6", "--seed", "5"] if phase == "sample" else []
            _cli("--council", council, "run", phase, "--by", QA_MANAGER, "--month", MONTH, "--now", now, *size)
    finally:
        for logger in loggers:
            logger.removeHandler(lines)
    return lines.lines


def _mail_text(smtp) -> str:
    """Return every received message's envelope, headers and text parts (HTML and calendar too), decoded."""
    out = []
    for received in smtp.received:
        message = received.message
        out += [received.mail_from, *received.rcpt_tos, *(f"{k}: {v}" for k, v in message.items())]
        out += [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
    return "\n".join(out)


def _folder_text(folder: Path) -> str:
    return "".join(p.read_text("utf-8", errors="replace") for p in folder.rglob("*") if p.is_file()
                   and p.suffix in {".html", ".csv", ".txt", ".json", ".eml", ".ics"})


def _page_text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_two_councils_month_keeps_each_councils_data_to_itself(region, tmp_path: Path) -> None:
    (north_engine, north_smtp), (south_engine, south_smtp) = region[NORTH], region[SOUTH]

    north_log = _month(NORTH, Lines())
    south_log = _month(SOUTH, Lines())

    # Each council's phases ran on its own database.
    for engine in (north_engine, south_engine):
        with sessionmaker(bind=engine)() as s:
            assert s.scalar(select(func.count()).select_from(Audit)) == 6
            assert {r.phase for r in s.scalars(select(PhaseRun))} >= {p for p, _ in STEPS}
    with sessionmaker(bind=south_engine)() as s:
        assert s.scalar(select(func.count()).select_from(Audit).where(Audit.child_id.like(f"{CASE_MARK}%"))) == 0

    # The planted strings are where they belong, so their absence elsewhere means something.
    north_mail = _mail_text(north_smtp)
    assert STAFF_MARK in north_mail and CASE_MARK in north_mail and "qa@northshire.example" in north_mail
    assert any(f"council {NORTH}" in line for line in north_log)
    north_reports = tmp_path / "reports" / NORTH
    assert (north_reports / MONTH / "report.html").is_file()

    # Nothing of Northshire's reaches Southvale's mail, reports or log.
    south_mail = _mail_text(south_smtp)
    assert south_smtp.received and "qa@southvale.example" in south_mail
    south_reports = tmp_path / "reports" / SOUTH
    south_files = _folder_text(south_reports) + _folder_text(tmp_path / "outbox" / SOUTH)
    assert (south_reports / MONTH / "report.html").is_file()
    assert any(f"council {SOUTH}" in line for line in south_log)
    south_log_text = "\n".join(south_log)
    for mark in NORTH_MARKS:
        assert mark not in south_mail, mark
        assert mark not in south_files, mark
        assert mark not in south_log_text, mark

    # The web: each council's site at its own address; the other council's links and sessions are refused.
    from auditcycle.web.region import create_region_app

    sites = create_region_app()
    for site in sites.apps.values():
        site.config["AUDITCYCLE_CLOCK"] = lambda: "2026-11-26T10:00"
    client = sites_client(sites)
    north_link = next(u for r in north_smtp.received for u in link_urls(r.message))
    south_link = next(u for r in south_smtp.received for u in link_urls(r.message))
    north_path, south_path = north_link.removeprefix(BASES[NORTH]), south_link.removeprefix(BASES[SOUTH])

    on_north = client.get(north_path, base_url=BASES[NORTH])
    on_south = client.get(south_path, base_url=BASES[SOUTH])
    north_on_south = client.get(north_path, base_url=BASES[SOUTH])
    assert on_north.status_code == 200 and on_south.status_code == 200
    assert north_on_south.status_code == 404
    for page in (on_south, north_on_south):
        for mark in NORTH_MARKS:
            assert mark not in _page_text(page), mark
    assert client.get("/", base_url="https://audits.elsewhere.example").status_code == 404


def sites_client(sites):
    """Return a werkzeug test client of the region's sites."""
    from werkzeug.test import Client

    class _Client(Client):
        def get(self, path: str, base_url: str):  # noqa: ANN201
            response = super().get(path, base_url=base_url)
            response.get_data()
            return response

    return _Client(sites)
