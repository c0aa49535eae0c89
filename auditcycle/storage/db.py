"""Engines, sessions and schema migration."""
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from auditcycle.core.errors import Conflict, DatabaseBusy, UserError
from auditcycle.core.region import current_council
from auditcycle.core.settings import get_settings
from auditcycle.storage import trail  # noqa: F401  (registers the audit trail's session events)

# PostgreSQL SQLSTATEs a concurrent run causes: unique violation, serialisation failure, deadlock.
CONCURRENT_SQLSTATES = {"23505", "40001", "40P01"}
# The PostgreSQL driver is an extra, so an install for SQLite does without it.
POSTGRES_INSTALL = "pip install 'auditcycle[postgres]'"


def sqlite_busy_seconds() -> float:
    """Return how long SQLite waits for another process's write lock: the sqlite_busy_seconds setting."""
    return get_settings().sqlite_busy_seconds


def missing_driver(url: str, module: str | None) -> str:
    """Say, in one line, which driver a database URL needs and how to install it."""
    driver = make_url(url).get_driver_name()
    if driver == "psycopg":
        return f"database_url is a PostgreSQL one, and its driver psycopg is not installed: run {POSTGRES_INSTALL}"
    return (f"database_url names the driver {driver}, which is not installed (no module {module!r}); install it, "
            f"or write postgresql://user@host/db and run {POSTGRES_INSTALL}")


def make_engine(url: str) -> Engine:
    """Create an engine; on SQLite, enforce foreign keys and wait for locks instead of failing."""
    if url.startswith("sqlite"):
        busy = sqlite_busy_seconds()
        engine = create_engine(url, connect_args={"timeout": busy})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # Let SQLAlchemy issue BEGIN itself so a transaction is really atomic.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            # WAL lets readers outside this engine (the sqlite3 shell, a backup) read during a phase.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Take the write lock up front: two writers then queue instead of deadlocking.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        try:
            engine = create_engine(url, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise UserError(missing_driver(url, exc.name)) from None
        except NoSuchModuleError:
            raise UserError(f"database_url: SQLAlchemy knows no database {make_url(url).drivername!r}; "
                            "write sqlite:///file.db or postgresql://user@host/db") from None

    @event.listens_for(engine, "handle_error")
    def _clear_concurrency_errors(context) -> None:
        # Every statement, in a session or not (the gateway's claims, a lease), so no raw
        # IntegrityError or "database is locked" ever reaches the person running auditcycle.
        if (clear := concurrency_error(context.original_exception)) is not None:
            raise clear from context.sqlalchemy_exception

    return engine


@lru_cache(maxsize=32)
def engine_for(url: str) -> Engine:
    """Return the process's shared engine for a URL, once its schema is known to be current."""
    engine = make_engine(url)
    check_schema(engine, url)
    return engine


def check_schema(engine: Engine, url: str) -> None:
    """Refuse to work on a database whose schema is missing or behind this version's migrations."""

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


def concurrency_error(orig: BaseException) -> UserError | None:
    """Return the clear error a driver's exception means when another run clashed with this one, else None.

    A unique constraint refusing a second copy of a record, a PostgreSQL deadlock or serialisation
    failure, and SQLite's "database is locked" after the busy wait are what two runs of the same work
    at once look like to the database. The transaction is rolled back, so nothing was saved.
    """
    sqlstate = getattr(orig, "sqlstate", None)
    said = str(orig)
    if sqlstate in CONCURRENT_SQLSTATES or said.startswith("UNIQUE constraint failed"):
        if sqlstate == "23505" or sqlstate is None:
            diag = getattr(orig, "diag", None)
            what = getattr(diag, "constraint_name", None) or said.removeprefix("UNIQUE constraint failed: ")
            clash = f"the same record ({what}) was saved by another run at the same moment"
        else:
            clash = "another run was changing the same records at the same moment"
        return Conflict(f"{clash}; nothing from this run was saved. Run it again: it carries on from "
                        "what the other run did, and sends and books nothing twice")
    if sqlstate is None and ("database is locked" in said or "database table is locked" in said):
        return DatabaseBusy(f"the database stayed locked by another auditcycle process for more than "
                            f"{sqlite_busy_seconds():g} s; nothing from this run was saved. Run it again once "
                            "the other run has finished")
    return None


def serialise(session: Session, name: str) -> None:
    """Wait until no other transaction holds the named lock, and hold it until this one ends.

    On PostgreSQL this is a transaction-scoped advisory lock. SQLite needs none: every transaction
    begins IMMEDIATE and so already holds the database's only write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"auditcycle:{name}"})


def get_engine() -> Engine:
    """Return the engine for the configured database: in a region, the current council's."""
    try:
        return engine_for(get_settings().database_url)
    except UserError as exc:
        if (council := current_council()) is None:
            raise
        # A region's operator must know whose database is behind, not only where it is.
        raise type(exc)(f"council {council}: {exc}") from None


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


@lru_cache(maxsize=4)
def reader_for(url: str) -> Engine:
    """Return an engine for reading only: on SQLite its reads begin no IMMEDIATE transaction, so never wait for a writer."""
    return make_engine(url) if not url.startswith("sqlite") else create_engine(url)


@contextmanager
def read_scope() -> Iterator[Session]:
    """Open a session for checks that only read; it writes nothing and never waits for the write lock."""
    with sessionmaker(bind=reader_for(get_settings().database_url))() as session:
        try:
            yield session
        finally:
            session.rollback()


@contextmanager
def lazy_commits(engine: Engine) -> Iterator[Connection]:
    """Hold a connection whose commits survive a crash of this process but not necessarily a power cut."""
    # For bookkeeping that is safe to lose to a power cut, such as marking a message sent (it would be
    # sent again with the same Message-ID): its commits then do not wait for the disk. Every other
    # connection keeps full durability, and this one gets it back before it returns to the pool.
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        if sqlite:
            raw.execute("PRAGMA synchronous=NORMAL")  # only outside a transaction
        else:
            conn.exec_driver_sql("SET synchronous_commit TO OFF")
            conn.commit()
        try:
            yield conn
        finally:
            if conn.in_transaction():
                conn.rollback()
            if sqlite:
                raw.execute("PRAGMA synchronous=FULL")
            else:
                conn.exec_driver_sql("RESET synchronous_commit")
                conn.commit()


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
