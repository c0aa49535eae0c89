"""`auditcycle import`: load staff, children, family contacts and availability from files."""
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from auditcycle.cli import NowOption, app, console, deliver_queued, err_console, guarded
from auditcycle.core.context import build_context
from auditcycle.imports.caseload import import_availability, import_children, import_contacts, import_staff
from auditcycle.imports.rows import ImportSummary
from auditcycle.storage.db import get_engine, session_scope

import_app = typer.Typer(help="Import the caseload from CSV files and calendars.", no_args_is_help=True)
app.add_typer(import_app, name="import")

# Below this many lines a bar would only flicker.
PROGRESS_MIN_LINES = 500

FileArgument = Annotated[Path, typer.Argument(help="The file to import.", dir_okay=False)]


def _line_count(path: Path) -> int:
    """Count lines cheaply; a quoted field may span lines, so this is an estimate for the bar."""
    try:
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return 0


@contextmanager
def _progress(path: Path, passes: int) -> Iterator[Callable[[int], None] | None]:
    """Yield a progress callback for a large file on a terminal, else None."""
    rows = max(_line_count(path) - 1, 0)
    if rows < PROGRESS_MIN_LINES or not err_console.is_terminal:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        # The importer advances once per row as it validates and once more as it writes.
        task = bar.add_task(f"Importing {path.name}", total=rows * passes)
        yield lambda advance: bar.advance(task, advance)


def _run(importer, path: Path, now: str | None, passes: int = 2, takes_context: bool = False, **extra) -> ImportSummary:
    ctx = build_context(now)
    if takes_context:
        extra["ctx"] = ctx
    with _progress(path, passes) as progress, session_scope() as session:
        summary = importer(session=session, path=path, now=ctx.now, progress=progress, **extra)
    # One line per fact, never folded to the terminal's width: a moved team's line is read whole.
    console.print(str(summary), highlight=False, soft_wrap=True)
    return summary


@import_app.command("staff")
@guarded
def staff_command(
    file: FileArgument,
    move_teams: Annotated[bool, typer.Option(
        "--move-teams", help="Move a team the file places in another service, with its members not in the file."
    )] = False,
    complete: Annotated[bool, typer.Option(
        "--complete", help="The file lists every member of staff: deactivate those it does not list (they left)."
    )] = False,
    now: NowOption = None,
) -> None:
    """Import staff, creating their teams and services (staff_id,name,email,role,team,service,...).

    Whoever leaves or changes role has the acts still waiting on them handed to their line manager, who is emailed.
    """
    summary = _run(import_staff, file, now, takes_context=True, move_teams=move_teams, complete=complete)
    if summary.handed_over:
        deliver_queued()


@import_app.command("children")
@guarded
def children_command(file: FileArgument, now: NowOption = None) -> None:
    """Import children on the caseload (child_id,first_name,last_name,date_of_birth,cohort,team,...)."""
    _run(import_children, file, now)


@import_app.command("contacts")
@guarded
def contacts_command(file: FileArgument, now: NowOption = None) -> None:
    """Import family contacts (child_id,relationship,name,phone,language,interpreter_needed)."""
    _run(import_contacts, file, now)


@import_app.command("availability")
@guarded
def availability_command(
    file: FileArgument,
    staff: Annotated[
        str | None, typer.Option("--staff", help="Whose calendar an .ics file is (a staff id).", metavar="STAFF-ID")
    ] = None,
    now: NowOption = None,
) -> None:
    """Import busy times from a CSV (staff_id,start,end) or one person's .ics calendar."""
    ctx = build_context(now)
    # Imported here: booking and the gateway load the calendar and mail libraries, which only this needs.
    from auditcycle.booking.meetings import reschedule_clashes
    from auditcycle.notifications.gateway import deliver
    from auditcycle.runs.leases import holder_name

    with _progress(file, 1) as progress, session_scope() as session:
        summary = import_availability(
            session=session, path=file, now=ctx.now, tz=ctx.tz, staff_id=staff, progress=progress
        )
        # Moving clashing meetings commits with the import, so the updates cannot be lost or doubled.
        moved, stuck = reschedule_clashes(session, ctx, staff_ids=summary.staff_ids)
    deliver(engine=get_engine(), settings=ctx.settings, holder=holder_name(None))
    console.print(str(summary), highlight=False)
    if moved or stuck:
        console.print(f"{moved} clashing meeting(s) moved; {len(stuck)} could not be moved "
                      f"(the QA manager has been emailed): {', '.join(stuck) or 'none'}", highlight=False)
