"""Commands of the monthly report: the QA manager's notes."""
from pathlib import Path
from typing import Annotated

import typer

from auditcycle.cli import NowOption, app, console, guarded, month_option, unit_of_work
from auditcycle.core.clock import Month

report_app = typer.Typer(help="The monthly Quality Assurance report.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("notes")
@guarded
def report_notes_command(
    notes: Annotated[Path, typer.Argument(help="The QA manager's notes in Markdown: findings and planned activity.")],
    month: Annotated[Month, month_option(required=True)],
    now: NowOption = None,
) -> None:
    """Store the QA manager's notes (the theme's findings and the activity planned) for a month's report."""
    from auditcycle.report.notes import read_notes, store_notes  # imported here: a fast --help

    text = read_notes(notes)
    with unit_of_work(now) as (session, _):
        store_notes(session, month=month, text=text)
    console.print(f"Notes stored for the {month} report; run `auditcycle run report --month {month}` to include them.")
