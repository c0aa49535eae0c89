"""`auditcycle init` and `auditcycle demo`: set up the database and replay the cycle on demo data."""
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, select

from auditcycle.cli import NowOption, app, console, guarded
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.settings import get_settings
from auditcycle.demo.seed import seed_authority
from auditcycle.models import Child, FamilyContact, Service, Staff, Team
from auditcycle.storage.db import session_scope, upgrade


@app.command("init")
@guarded
def init_command(now: NowOption = None) -> None:
    """Create or upgrade the database schema to the newest migration."""
    build_context(now)
    upgrade()
    console.print(f"Database ready at {_safe_url(get_settings().database_url)}.")


@app.command("demo")
@guarded
def demo_command(
    children: Annotated[int, typer.Option(help="Children in the synthetic authority.")] = 1200,
    seed: Annotated[int, typer.Option(help="Seed for the synthetic authority and its decisions.")] = 2026,
    now: NowOption = None,
) -> None:
    """Set up the embedded database, seed a synthetic authority if empty, and replay the last three audit months."""
    from auditcycle.cli.simulate import quiet_prefect, simulate_month

    quiet_prefect()
    ctx = build_context(now)
    upgrade()
    with session_scope() as session:
        if session.scalar(select(func.count()).select_from(Staff)) == 0:
            console.print(f"Seeding a synthetic authority of {children:,} children (seed {seed})…")
            seed_authority(session=session, children=children, seed=seed, now=ctx.now, timescales=ctx.timescales)
        counts = {
            "services": session.scalar(select(func.count()).select_from(Service)),
            "teams": session.scalar(select(func.count()).select_from(Team)),
            "staff": session.scalar(select(func.count()).select_from(Staff)),
            "auditors": session.scalar(select(func.count()).select_from(Staff).where(Staff.auditor)),
            "children": session.scalar(select(func.count()).select_from(Child)),
            "family contacts": session.scalar(select(func.count()).select_from(FamilyContact)),
        }
    table = Table(title="Synthetic authority")
    table.add_column("what")
    table.add_column("count", justify="right")
    for what, count in counts.items():
        table.add_row(what, f"{count:,}")
    console.print(table)
    # Oldest first, so each report compares with the month before and the trend has a direction.
    current = Month.of(ctx.timescales.today(ctx.now))
    months = [current.previous().previous(), current.previous(), current]
    console.print(f"Replaying the audit months {', '.join(map(str, months))} through Prefect, "
                  "from each draw to its report…")
    for month in months:
        simulate_month(month, seed=seed)
    settings = get_settings()
    console.print("Reports: " + ", ".join(str(settings.reports_dir / str(m) / "report.html") for m in months)
                  + " (with report.pdf, grades.csv and actions.csv beside each).")
    if settings.smtp_host:
        console.print(f"Mail went to {settings.smtp_host}.")
    else:
        emails = len(list(settings.outbox_dir.glob("*.eml"))) if settings.outbox_dir.is_dir() else 0
        console.print(f"Mail: {emails:,} messages in {settings.outbox_dir}/, one .eml file each "
                      "(they open in Outlook or Thunderbird).")
    console.print(f"Try `auditcycle list audits --month {months[-1]}` or `auditcycle list actions`.")


def _safe_url(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
