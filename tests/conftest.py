"""Shared fixtures: a migrated database on SQLite and, when configured, on PostgreSQL."""
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from auditcycle.core.settings import get_settings
from auditcycle.models import Base
from auditcycle.storage import db
from auditcycle.storage.installation import mark_simulation

# Prefect keeps its home, logs and any stored results here, where the privacy tests can read them.
PREFECT_HOME = Path(tempfile.mkdtemp(prefix="auditcycle-prefect-"))
os.environ["PREFECT_HOME"] = str(PREFECT_HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")

POSTGRES_URL = os.environ.get("AUDITCYCLE_TEST_POSTGRES_URL")
# Every database test runs on both engines; without a PostgreSQL URL its PostgreSQL half shows as skipped,
# with the reason, rather than vanishing from the count.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not POSTGRES_URL, reason="PostgreSQL: set AUDITCYCLE_TEST_POSTGRES_URL (as .ci/run does) to run this on it"))]
# CI sets this so that a skipped test fails the run: every test there must really run.
FAIL_ON_SKIP = os.environ.get("AUDITCYCLE_FAIL_ON_SKIP") == "1"
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Note each skipped test, for the fail-on-skip rule."""
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when CI asked that nothing be skipped and something was."""
    if FAIL_ON_SKIP and _skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int) -> None:
    """Say why the run failed when it failed only for skipped tests."""
    if FAIL_ON_SKIP and _skipped:
        terminalreporter.write_line(f"AUDITCYCLE_FAIL_ON_SKIP=1: {len(_skipped)} test(s) skipped, which fails the run; "
                                    f"first: {_skipped[0]}", red=True)


def _mark_simulation(url: str) -> None:
    """Mark a test database a simulation: the suite sets the clock with --now, as a rehearsal does."""
    engine = db.make_engine(url)
    with sessionmaker(bind=engine).begin() as session:
        mark_simulation(session)
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file once, marked a simulation; each test copies it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db.upgrade(f"sqlite:///{path}")
    _mark_simulation(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    """Migrate the PostgreSQL test database once per session, from empty."""
    assert POSTGRES_URL
    engine = db.make_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    db.upgrade(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """Yield the URL of an empty, migrated database of each configured kind."""
    if request.param == "sqlite":
        path = tmp_path / "auditcycle.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_migrated")
    engine = db.make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    _mark_simulation(url)
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """Yield an engine on the test database."""
    engine = db.make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """Yield a session on the test database."""
    with sessionmaker(bind=engine, expire_on_commit=False)() as s:
        yield s


@pytest.fixture
def app_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the application's settings at the test database and scratch folders."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUDITCYCLE_DATABASE_URL", db_url)
    monkeypatch.setenv("AUDITCYCLE_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("AUDITCYCLE_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.delenv("AUDITCYCLE_SMTP_HOST", raising=False)
    monkeypatch.delenv("AUDITCYCLE_CONFIG", raising=False)
    # The suite replays months with --now, on databases created as simulations (see _mark_simulation).
    monkeypatch.setenv("AUDITCYCLE_SIMULATION", "1")
    get_settings.cache_clear()
    db.engine_for.cache_clear()
    yield db_url
    for engine in list(_cached_engines()):
        engine.dispose()
    db.engine_for.cache_clear()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[str]:
    """Run one temporary Prefect server for the session; yield the path of its database."""
    import prefect.settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        url = prefect.settings.PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
        yield url.split("///", 1)[1]


@pytest.fixture
def smtp_server():
    """Run a real SMTP server on loopback for the test."""
    from smtp_server import SmtpServer

    with SmtpServer() as server:
        yield server


@pytest.fixture
def smtp_env(app_env: str, smtp_server, monkeypatch: pytest.MonkeyPatch):
    """Point the application's mail at the loopback SMTP server."""
    monkeypatch.setenv("AUDITCYCLE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AUDITCYCLE_SMTP_PORT", str(smtp_server.port))
    get_settings.cache_clear()
    return smtp_server


@pytest.fixture(autouse=True)
def loopback_mail_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test whose mail would leave this machine."""
    import smtplib

    real_connect = smtplib.SMTP.connect

    def guarded_connect(self, host="localhost", port=0, source_address=None):
        if host not in {"127.0.0.1", "localhost", "::1"}:
            raise AssertionError(f"a test tried to reach the SMTP server {host}")
        return real_connect(self, host, port, source_address)

    monkeypatch.setattr(smtplib.SMTP, "connect", guarded_connect)


def _cached_engines():
    try:
        yield db.get_engine()
    except Exception:
        return


# Distinctive personal data planted in every free-text field a child or family contact has;
# the privacy tests search every output for these.
PLANTED = {
    "child_first": "Zephyrinette",
    "child_last": "Quillfeatherby",
    "contact_name": "Xanthippa Marplewoode",
    "phone": "07700 900461",
    "dob": "2013-02-17",
}
DEMO_NOW = "2026-11-23T09:00"
# The seeded authority's QA manager, who starts the phases tests run by hand (checked by `authority`).
QA_MANAGER = "S0009"


@pytest.fixture
def authority(engine: Engine) -> Engine:
    """Seed a small synthetic authority and plant distinctive names, dates and phone numbers."""
    from datetime import date

    from sqlalchemy import update

    from auditcycle.core.context import build_context
    from auditcycle.core.settings import Settings
    from auditcycle.demo.seed import seed_authority
    from auditcycle.models import Child, FamilyContact, Staff
    from auditcycle.models.enums import Role

    ctx = build_context(DEMO_NOW, settings=Settings(database_url="sqlite://"))
    with sessionmaker(bind=engine).begin() as s:
        seed_authority(session=s, children=160, seed=11, now=ctx.now, timescales=ctx.timescales)
        s.execute(update(Child).values(first_name=PLANTED["child_first"], last_name=PLANTED["child_last"]))
        s.execute(update(Child).where(Child.cohort != "care_experienced")
                  .values(date_of_birth=date.fromisoformat(PLANTED["dob"])))
        s.execute(update(FamilyContact).values(phone=PLANTED["phone"]))
        for contact in s.scalars(select(FamilyContact)):
            contact.name = f"{PLANTED['contact_name']} {contact.id}"
        assert s.get(Staff, QA_MANAGER).role == Role.QA_MANAGER
    return engine


@pytest.fixture
def settings(smtp_server):
    """Settings whose mail goes to the loopback SMTP server."""
    from auditcycle.core.settings import Settings

    return Settings(database_url="sqlite://", smtp_host="127.0.0.1", smtp_port=smtp_server.port)


@pytest.fixture
def s(authority: Engine) -> Iterator[Session]:
    """Yield a session on the seeded authority."""
    with sessionmaker(bind=authority, expire_on_commit=False)() as session:
        yield session
