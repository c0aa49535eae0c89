"""`auditcycle list`: the central tracker as a table for people or JSON for scripts."""
import json
from typing import Annotated

import typer
from rich.table import Table

from auditcycle.cli import NowOption, app, console, guarded, month_option
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.storage.db import session_scope
from auditcycle.tracker.rows import TrackerKind, list_items

MonthOption = Annotated[Month | None, month_option("Only this audit month (YYYY-MM).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]


@app.command("list")
@guarded
def list_command(
    kind: Annotated[TrackerKind, typer.Argument(help="What to list.")],
    month: MonthOption = None,
    as_json: JsonOption = False,
    now: NowOption = None,
) -> None:
    """List audits, actions, meetings, responses, moderations or messages with their status."""
    ctx = build_context(now)
    wanted = month
    with session_scope() as session:
        items = list_items(session=session, kind=kind, month=wanted, ctx=ctx)
    if as_json:
        typer.echo(json.dumps({"kind": kind.value, "month": str(month) if month else None, "items": items}, indent=2))
        return
    if not items:
        console.print(f"No {kind.value}{f' for {month}' if month else ''}.")
        return
    table = Table(title=f"{kind.value.capitalize()}{f' — {month}' if month else ''} ({len(items)})")
    columns = list(items[0])
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for item in items:
        table.add_row(*("" if item[c] is None else str(item[c]) for c in columns))
    console.print(table)
