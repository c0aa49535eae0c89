"""Engines, sessions and schema migration."""
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from . import trail  # noqa: F401  (registers the audit trail's session events)
from .settings import get_settings


def make_engine(url: str) -> Engine:
    """Create an engine; on SQLite, enforce foreign keys and wait for locks instead of failing."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # Let SQLAlchemy issue BEGIN itself so a transaction is really atomic.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            # WAL lets readers outside this engine (the sqlite3 shell, a backup) read during a phase.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Take the write lock up front: two writers then queue instead of deadlocking.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """Return the process's shared engine for a URL, once its schema is known to be current."""
    engine = make_engine(url)
    check_schema(engine, url)
    return engine


def check_schema(engine: Engine, url: str) -> None:
    """Refuse to work on a database whose schema is missing or behind this version's migrations."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from .errors import UserError

    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    heads = ScriptDirectory.from_config(alembic_config(url)).get_heads()
    if current in heads:
        return
    where = make_url(url).render_as_string(hide_password=True)
    if current is None:
        raise UserError(f"the database at {where} has no auditcycle schema yet: run `auditcycle init`")
    raise UserError(f"the database at {where} is at schema revision {current}, and this version needs "
                    f"{', '.join(heads)}: run `auditcycle init` to upgrade it")


def get_engine() -> Engine:
    """Return the engine for the configured database."""
    return engine_for(get_settings().database_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """Open a session that commits on success and rolls back on any error."""
    factory = sessionmaker(bind=engine or get_engine(), expire_on_commit=False)
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def lazy_commit(engine: Engine) -> Iterator[Connection]:
    """Open a transaction whose commit survives a crash of this process but not necessarily a power cut."""
    # For bookkeeping that is safe to lose to a power cut, such as marking a message sent (it would be
    # sent again with the same Message-ID): the commit then does not wait for the disk.
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            raw.execute("PRAGMA synchronous=NORMAL")  # only outside a transaction
        try:
            with conn.begin():
                if not sqlite:
                    conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                yield conn
        finally:
            if sqlite:
                raw.execute("PRAGMA synchronous=FULL")


def alembic_config(url: str) -> Config:
    """Build an Alembic configuration for the packaged migrations."""
    script_location = Path(str(resources.files("auditcycle.migrations")))
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None) -> None:
    """Upgrade the database schema to the newest migration."""
    command.upgrade(alembic_config(url or get_settings().database_url), "head")
