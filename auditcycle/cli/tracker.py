"""`auditcycle list`: the central tracker as a table for people or JSON for scripts."""
import json
from collections import Counter
from datetime import date, datetime
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
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
    """List audits, actions, meetings, responses, moderations, messages or questionnaires with their status."""
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
    if kind == TrackerKind.QUESTIONNAIRES:
        console.print(_questionnaire_table(title, items))
        if tally := _tally_table(items, ctx.settings.framework.questionnaire):
            console.print(tally)
        return
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


def _questionnaire_table(title: str, items: list[dict]) -> Table:
    """Lay out each auditor's answers for the QA team to read: one row an auditor, one line a question."""
    answered = sum(1 for item in items if item["status"] == "answered")
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 0, 0, 1),
                  show_lines=True, caption=f"{answered} of {len(items)} answered. Answers as the redactor leaves them.")
    table.add_column("Auditor", ratio=1)
    table.add_column("First audit", no_wrap=True)
    table.add_column("Sent", min_width=6)
    table.add_column("Answered", min_width=8)
    table.add_column("Answers", ratio=3)
    for item in items:
        answers = "\n".join(f"{escape(a['question'])}\n  [bold]{escape(a['answer'])}[/bold]" if a["answer"] is not None
                            else f"{escape(a['question'])}\n  [dim]no answer[/dim]" for a in item["answers"])
        table.add_row(_person(item["auditor_id"], item["auditor_name"]), f"{item['reference']}\n{item['month']}",
                      _moment(item["sent_at"]), _moment(item["answered_at"]) or "not yet", answers)
    return table


def _tally_table(items: list[dict], questions: list) -> Table | None:
    """Count the answers given to each question answered from choices: the questionnaire at a glance."""
    tallies = {q.key: (q.text, Counter()) for q in questions if q.choices}
    for item in items:
        for answer in item["answers"]:
            if answer["key"] in tallies and answer["answer"] is not None:
                tallies[answer["key"]][1][answer["answer"]] += 1
    if not any(counts for _, counts in tallies.values()):
        return None
    table = Table(title="Answers counted", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 0, 0, 1))
    table.add_column("Question", ratio=1)
    table.add_column("Answers", ratio=1)
    for text, counts in tallies.values():
        table.add_row(text, ", ".join(f"{escape(answer)}: {n}" for answer, n in counts.most_common()) or "none yet")
    return table
