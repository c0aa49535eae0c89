"""Shared fixtures: a migrated database on SQLite and, when configured, on PostgreSQL."""
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from auditcycle import db
from auditcycle.models import Base
from auditcycle.settings import get_settings

POSTGRES_URL = os.environ.get("AUDITCYCLE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file once; each test copies it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db.upgrade(f"sqlite:///{path}")
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
    get_settings.cache_clear()
    db.engine_for.cache_clear()
    yield db_url
    for engine in list(_cached_engines()):
        engine.dispose()
    db.engine_for.cache_clear()
    get_settings.cache_clear()


def _cached_engines():
    try:
        yield db.get_engine()
    except Exception:
        return
