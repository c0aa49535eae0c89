"""`auditcycle init` and `auditcycle demo`: set up the database and show the cycle on demo data."""
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, select

from ..context import build_context
from ..db import session_scope, upgrade
from ..demo import seed_authority
from ..models import Child, FamilyContact, Service, Staff, Team
from ..settings import get_settings
from . import NowOption, app, console, guarded


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
    seed: Annotated[int, typer.Option(help="Seed for the synthetic authority.")] = 2026,
    now: NowOption = None,
) -> None:
    """Set up the embedded database, seed a synthetic authority if empty, and run next month's first phases."""
    from ..flows.book import book
    from ..flows.notify import notify
    from ..flows.sample import sample
    from ..phases import default_month

    ctx = build_context(now)
    upgrade()
    with session_scope() as session:
        if session.scalar(select(func.count()).select_from(Staff)) == 0:
            console.print(f"Seeding a synthetic authority of {children:,} children (seed {seed})…")
            seed_authority(session=session, children=children, seed=seed, now=ctx.now, timescales=ctx.timescales)
    month = str(default_month("sample", ctx))
    clock = ctx.now.isoformat()
    console.print(f"Running the {month} cycle through Prefect: sample, notify, book…")
    drawn = sample(month=month, now=clock, theme="The voice of the child")
    notified = notify(month=month, now=clock)
    booked = book(month=month, now=clock)
    with session_scope() as session:
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
        table.add_row(what, str(count))
    console.print(table)
    cycle = Table(title=f"Audit month {month}")
    cycle.add_column("phase")
    cycle.add_column("result")
    cycle.add_row("sample", f"{drawn['audits']} audits drawn (seed {drawn['seed']}), "
                            f"{drawn['immediate_responses']} Immediate Responses triggered")
    cycle.add_row("notify", f"{notified['queued']} notices queued, {notified['delivery']['sent']} sent")
    cycle.add_row("book", f"{booked['booked']} meetings booked, {booked['unbooked']} could not be, "
                          f"{booked['delivery']['sent']} messages sent")
    console.print(cycle)
    where = ctx.settings.smtp_host or f"{ctx.settings.outbox_dir}/ (one .eml file per message)"
    console.print(f"Mail is in {where}. Try `auditcycle list audits --month {month}` "
                  f"or `auditcycle list meetings --month {month}`.")


def _safe_url(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
