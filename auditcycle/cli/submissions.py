"""Commands of submissions: record a form, dispute a grade, export case notes."""
# Each command imports the domain inside its body, so `auditcycle --help` and unrelated commands start fast.
from pathlib import Path
from typing import Annotated

import typer

from auditcycle.cli import ByOption, NowOption, app, console, deliver_queued, guarded, month_option, unit_of_work
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.files import writable_folder
from auditcycle.storage.db import session_scope


@app.command("submit")
@guarded
def submit_command(
    audit_ref: Annotated[str, typer.Argument(help="The audit the form is for.")],
    form: Annotated[Path, typer.Argument(help="The completed form, as JSON (see the README).")],
    by: ByOption,
    now: NowOption = None,
) -> None:
    """Record a completed audit form; an invalid form is listed in full and nothing is stored."""
    from auditcycle.submissions.submit import submit_file

    with unit_of_work(now) as (session, ctx):
        submission = submit_file(session, ctx, reference=audit_ref, path=form, by=by)
        version = submission.version
    deliver_queued()
    console.print(f"{audit_ref}: form stored (version {version}); the outcome has gone to those involved.")


@app.command("dispute")
@guarded
def dispute_command(
    audit_ref: Annotated[str, typer.Argument(help="The audit whose grade you dispute.")],
    by: ByOption,
    note: Annotated[str, typer.Option("--note", help="Why you disagree with the grade.")],
    now: NowOption = None,
) -> None:
    """Record a disagreement with an audit's grade; it sends the audit to moderation."""
    from auditcycle.submissions.submit import dispute

    with unit_of_work(now) as (session, ctx):
        dispute(session, ctx, reference=audit_ref, by=by, note=note)
    console.print(f"{audit_ref}: disagreement recorded; the audit will be moderated.")


@app.command("supervision-discussed")
@guarded
def supervision_discussed_command(
    audit_ref: Annotated[str, typer.Argument(help="The audit discussed at the practitioner's supervision.")],
    by: ByOption,
    note: Annotated[str | None, typer.Option("--note", help="What was agreed (optional).")] = None,
    now: NowOption = None,
) -> None:
    """Record, as the key worker's team manager, that the audit was discussed at their supervision."""
    from auditcycle.submissions.supervision import record_supervision_discussed

    with unit_of_work(now) as (session, ctx):
        record_supervision_discussed(session, ctx, reference=audit_ref, by=by, note=note)
    console.print(f"{audit_ref}: supervision discussion recorded.")


export_app = typer.Typer(help="Export what the case-management system needs.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("case-notes")
@guarded
def case_notes_command(
    month: Annotated[Month, month_option(required=True)],
    # Read as text, not a Path: typer turns an empty --out into ".", the current folder.
    out: Annotated[str | None, typer.Option("--out", help="Folder (default REPORTS_DIR/YYYY-MM/case-notes).")] = None,
    now: NowOption = None,
) -> None:
    """Write the case-note text of each finalised audit, one file per child named by case id."""
    from auditcycle.submissions.case_notes import export_case_notes

    ctx = build_context(now)
    wanted = str(month)
    folder = writable_folder(out, option="--out") if out is not None else ctx.settings.reports_dir / wanted / "case-notes"
    with session_scope() as session:
        paths = export_case_notes(session, ctx, month=wanted, folder=folder)
    if not paths:
        console.print(f"No finalised audits for {wanted} yet: nothing written.")
        return
    console.print(f"{len(paths)} case note file(s) written to {folder}.")
