"""`auditcycle seed-demo`: fill an empty database with a synthetic authority."""
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from auditcycle.cli import NowOption, app, console, guarded
from auditcycle.core.context import build_context
from auditcycle.demo.seed import seed_authority
from auditcycle.storage.db import session_scope

PROGRESS_FROM = 10_000  # smaller runs finish before a bar would be worth drawing


@app.command("seed-demo")
@guarded
def seed_demo(
    children: Annotated[int, typer.Option("--children", min=1, help="How many children to create.")] = 1200,
    seed: Annotated[int, typer.Option("--seed", help="The seed: the same seed gives the same authority.")] = 2026,
    now: NowOption = None,
) -> None:
    """Fill an empty database with a synthetic authority of services, staff, children and diaries."""
    ctx = build_context(now)
    with Progress(
        TextColumn("Seeding children"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=children < PROGRESS_FROM,
    ) as bar:
        task = bar.add_task("children", total=children)
        with session_scope() as session:
            summary = seed_authority(
                session=session, children=children, seed=seed, now=ctx.now, timescales=ctx.timescales,
                progress=lambda done, _total: bar.update(task, completed=done),
            )
    table = Table(title=f"Demo authority (seed {seed})")
    table.add_column("Rows")
    table.add_column("Count", justify="right")
    for label, count in (
        ("Services", summary.services), ("Teams", summary.teams), ("Staff", summary.staff),
        ("Auditors", summary.auditors), ("Children", summary.children),
        ("Family contacts", summary.contacts), ("Busy periods", summary.busy_periods),
    ):
        table.add_row(label, f"{count:,}")
    console.print(table)
