"""`auditcycle list`: the central tracker as a table for people or JSON for scripts."""
import json
from datetime import date, datetime
from typing import Annotated

import typer
from rich import box
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
    title = f"{kind.value.capitalize()}{f' — {month}' if month else ''} ({len(items)})"
    console.print(_audit_table(title, items) if kind == TrackerKind.AUDITS else _table(title, items))


def _table(title: str, items: list[dict]) -> Table:
    table = Table(title=title)
    columns = list(items[0])
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for item in items:
        table.add_row(*("" if item[c] is None else str(item[c]) for c in columns))
    return table


def _words(slug: str | None) -> str:
    return "" if slug is None else slug.replace("_", " ")


def _person(staff_id: str | None, name: str | None) -> str:
    return "" if staff_id is None else f"{staff_id} {name or ''}".strip()


def _day(value: str | None) -> str:
    if value is None:
        return ""
    day = date.fromisoformat(value)
    return f"{day.day} {day:%b}"


def _moment(value: str | None) -> str:
    # The rows hold local times with their offset: shown as the council's wall clock.
    if value is None:
        return ""
    moment = datetime.fromisoformat(value)
    return f"{moment.day} {moment:%b %H:%M}"


def _grades(item: dict) -> str:
    submitted, final = item["submitted_grade"], item["final_grade"]
    if submitted is None:
        return ""
    if final is None:
        return f"{_words(submitted)} (not final)"
    return _words(submitted) if final == submitted else f"{_words(submitted)} → {_words(final)}"


def _audit_table(title: str, items: list[dict]) -> Table:
    """Lay out the audits for a QA manager at 80 columns: a few wide cells, names beside ids."""
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 0, 0, 1),
                  caption="Grade: as submitted → final; not final while moderation may change it.")
    table.add_column("Audit", no_wrap=True)
    table.add_column("Child", no_wrap=True)
    table.add_column("Auditor", ratio=1)
    table.add_column("Submitted", min_width=9)
    table.add_column("Grade", ratio=1, min_width=11)
    table.add_column("Moderation", min_width=10)
    table.add_column("Age", justify="right", no_wrap=True)
    for item in items:
        auditor = _person(item["auditor_id"], item["auditor_name"])
        if item["buddy_id"]:
            auditor += f"\nwith {_person(item['buddy_id'], item['buddy_name'])}"
        audit = f"{item['reference']}\n{_words(item['status'])}\ndue {_day(item['due_date'])}"
        table.add_row(audit, item["child_id"], auditor, _moment(item["submitted_at"]), _grades(item),
                      _words(item["moderation"]), f"{item['age_days']}d")
    return table
