"""A region of two councils for tests: each its own database, settings file, SMTP server and folders.

Northshire's staff, teams and children's case ids are planted with distinctive strings, so a test can look
for any of them where only Southvale's data belongs.
"""
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.orm import sessionmaker
from web_app import SECRET

from auditcycle.core.context import build_context
from auditcycle.core.settings import Settings, get_settings
from auditcycle.demo.seed import seed_authority
from auditcycle.models import Base, Child, Staff, Team
from auditcycle.storage import db

# Northshire's planted strings: none may reach Southvale's mail, reports, pages or logs.
STAFF_MARK = "Vexworthy"
TEAM_MARK = "Quarrendon"
CASE_MARK = "NSHX"
NORTH, SOUTH = "northshire", "southvale"
BASES = {NORTH: "https://audits.northshire.example", SOUTH: "https://audits.southvale.example"}


@dataclass
class Council:
    """One council of the test region: its slug, database, mail server and folders."""

    slug: str
    url: str
    engine: Engine
    smtp: object
    folder: Path

    @property
    def reports(self) -> Path:
        """Return the council's reports folder (its own subfolder of the shared one)."""
        return self.folder / "reports" / self.slug


def write_region(tmp_path: Path, councils: dict[str, dict]) -> Path:
    """Write region.toml and one settings file per council; return the region file's path."""
    lines = [f'default = "{next(iter(councils))}"']
    for slug, values in councils.items():
        lines += [f"[councils.{slug}]", f'config = "{slug}.toml"']
        (tmp_path / f"{slug}.toml").write_text("".join(
            f"{key} = {value!r}\n".replace("'", '"') if isinstance(value, str) else f"{key} = {str(value).lower()}\n"
            for key, value in values.items()))
    region = tmp_path / "region.toml"
    region.write_text("\n".join(lines) + "\n")
    return region


def council_values(slug: str, url: str, smtp_port: int) -> dict:
    """Return a council's own settings: its database, address, sender, branding, secret and mail server."""
    return {"database_url": url, "base_url": BASES.get(slug, f"https://audits.{slug}.example"),
            "mail_from": f"qa@{slug}.example", "web_council_name": f"{slug.capitalize()} Council",
            "web_secret_key": f"{slug}-" + SECRET, "smtp_host": "127.0.0.1", "smtp_port": smtp_port,
            "simulation": True}


def use_region(monkeypatch, region: Path) -> None:
    """Point the process at the region file, with nothing of a single council's configuration left over."""
    for name in ("AUDITCYCLE_DATABASE_URL", "AUDITCYCLE_CONFIG", "AUDITCYCLE_SMTP_HOST", "AUDITCYCLE_SMTP_PORT",
                 "AUDITCYCLE_OUTBOX_DIR", "AUDITCYCLE_REPORTS_DIR", "AUDITCYCLE_COUNCIL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUDITCYCLE_REGION", str(region))
    monkeypatch.setenv("AUDITCYCLE_SIMULATION", "1")
    forget()


def forget() -> None:
    """Drop every cached setting and engine, so the next use reads the files afresh."""
    get_settings.cache_clear()
    db.engine_for.cache_clear()
    db.reader_for.cache_clear()


def second_database(db_url: str, sqlite_template: Path, tmp_path: Path) -> str:
    """Return the URL of a second empty, migrated simulation database of the same kind as db_url."""
    from conftest import _mark_simulation

    if db_url.startswith("sqlite"):
        path = tmp_path / "southvale.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = db_url.rsplit("/", 1)[0] + "/" + db_url.rsplit("/", 1)[1] + "_south"
    admin = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        name = url.rsplit("/", 1)[1]
        # FORCE: an earlier test's engines, kept in the process's cache, may still hold connections.
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    db.upgrade(url)
    _mark_simulation(url)
    return url


def seed(engine: Engine, seed_number: int, now: str) -> None:
    """Seed a synthetic authority into the council's database."""
    ctx = build_context(now, settings=Settings(database_url="sqlite://"))
    with sessionmaker(bind=engine).begin() as s:
        seed_authority(session=s, children=160, seed=seed_number, now=ctx.now, timescales=ctx.timescales)


def plant_northshire(engine: Engine) -> None:
    """Give Northshire's staff, teams and children's case ids strings found nowhere else."""
    with sessionmaker(bind=engine).begin() as s:
        for staff in s.scalars(select(Staff)):
            staff.name = f"Ottoline {STAFF_MARK} {staff.id}"
        s.execute(update(Team).values(name=TEAM_MARK + " " + Team.name))
    _rename_children(engine)


def _rename_children(engine: Engine) -> None:
    """Prefix every child's case id, and every column that refers to it, with CASE_MARK."""
    columns = [(fk.parent.table.name, fk.parent.name) for table in Base.metadata.sorted_tables
               for fk in table.foreign_keys if fk.column.table.name == Child.__tablename__]
    sqlite = engine.dialect.name == "sqlite"
    raw = create_engine(engine.url) if sqlite else engine
    with raw.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        else:
            conn.exec_driver_sql("SET session_replication_role = replica")  # no FK checks while ids move
        for table, column in [("child", "id"), *columns]:
            conn.execute(text(f'UPDATE "{table}" SET "{column}" = :mark || "{column}" WHERE "{column}" IS NOT NULL'),
                         {"mark": CASE_MARK})
        if not sqlite:
            conn.exec_driver_sql("SET session_replication_role = DEFAULT")
        conn.commit()
    if sqlite:
        raw.dispose()
