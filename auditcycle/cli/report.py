"""Commands of the monthly report: the QA manager's notes and executive summary."""
from pathlib import Path
from typing import Annotated

import typer

from auditcycle.cli import ByOption, NowOption, app, console, guarded, month_option, unit_of_work
from auditcycle.core.clock import Month
from auditcycle.core.errors import UserError

report_app = typer.Typer(help="The monthly Quality Assurance report.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("notes")
@guarded
def report_notes_command(
    notes: Annotated[Path, typer.Argument(help="The QA manager's notes in Markdown: findings and planned activity.")],
    month: Annotated[Month, month_option(required=True)],
    by: ByOption,
    now: NowOption = None,
) -> None:
    """Store the QA manager's notes (the theme's findings and the activity planned) for a month's report."""
    from auditcycle.report.notes import read_notes, store_notes  # imported here: a fast --help

    text = read_notes(notes)
    with unit_of_work(now) as (session, _):
        store_notes(session, month=month, text=text, by=by)
    console.print(f"Notes stored for the {month} report; run `auditcycle run report --month {month}` to include them.")


@report_app.command("summary")
@guarded
def report_summary_command(
    month: Annotated[Month, month_option(required=True)],
    summary: Annotated[Path | None, typer.Argument(
        help="Your executive summary in Markdown, replacing the one drafted from the figures.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Your staff id: the person setting the summary.")] = None,
    drafted: Annotated[bool, typer.Option(
        "--drafted", help="Go back to the summary drafted from the figures.")] = False,
    now: NowOption = None,
) -> None:
    """Print a month's executive summary, or replace it with your own (or go back to the drafted one) before issue."""
    # Imported here: a fast --help.
    from auditcycle.report.data import build_report_data
    from auditcycle.report.notes import MAX_SUMMARY_CHARACTERS, read_notes, store_summary
    from auditcycle.report.summary import summary_credit, summary_text

    if summary is not None and drafted:
        raise UserError("give a summary file or --drafted, not both")
    if summary is None and not drafted:
        with unit_of_work(now) as (session, ctx):
            data = build_report_data(session, ctx, month=month)
        console.print(summary_text(data), markup=False, highlight=False, soft_wrap=True)
        console.print(f"\n({summary_credit(data)} Save it to a file, edit it and run "
                      f"`auditcycle report summary FILE --month {month} --by YOUR_ID` to replace it.)",
                      markup=False, highlight=False)
        return
    if not by or not by.strip():
        raise UserError("--by: give your staff id; the summary is credited to the person who sets it")
    text = None if drafted else read_notes(summary, limit=MAX_SUMMARY_CHARACTERS, what="the summary is")
    with unit_of_work(now) as (session, _):
        store_summary(session, month=month, text=text, by=by.strip())
    said = "the summary drafted from the figures restored" if drafted else "summary stored"
    console.print(f"For the {month} report: {said}; run `auditcycle run report --month {month}` to include it.")
