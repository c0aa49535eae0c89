"""Commands of the monthly cycle: run a phase, nominate, replace, reschedule and withdraw."""
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from auditcycle.cli import NowOption, app, console, guarded, month_option
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.models.enums import Cohort
from auditcycle.runs.phases import Kind, get_phase, phases_of
from auditcycle.storage.db import session_scope

ByOption = Annotated[str, typer.Option("--by", help="Your staff id: the person making this decision.")]


# The phases `run` offers: the monthly cycle's, from the one list (ad-hoc cycles have their own commands).
Phase = StrEnum("Phase", {p.name: p.name for p in phases_of(Kind.MONTHLY)})


@app.command("run")
@guarded
def run_command(
    phase: Annotated[Phase, typer.Argument(help="The phase to run.")],
    month: Annotated[Month | None, month_option()] = None,
    theme: Annotated[str | None, typer.Option(help="sample: the month's theme.")] = None,
    cohort: Annotated[Cohort | None, typer.Option(help="sample: draw only from this cohort.")] = None,
    team: Annotated[str | None, typer.Option(help="sample: draw only from this team.")] = None,
    size: Annotated[int | None, typer.Option(help="sample: audits to draw (default one per auditor).")] = None,
    seed: Annotated[int | None, typer.Option(help="sample: the seed, to reproduce a draw.")] = None,
    reissue: Annotated[bool, typer.Option("--reissue", help="report: mail a corrected edition.")] = False,
    by: Annotated[str | None, typer.Option("--by", help="Your staff id (QA team).")] = None,
    now: NowOption = None,
) -> None:
    """Run a phase of the month through the Prefect engine."""
    from auditcycle.people.permissions import authorise

    ctx = build_context(now)
    if by is not None:
        with session_scope() as session:
            authorise(session, command="run", staff_id=by)
    options = {"sample": {"theme": theme, "cohort": cohort.value if cohort else None, "team": team, "size": size,
                          "seed": seed},
               "report": {"reissue": reissue}}.get(phase.value, {})
    result = get_phase(phase.value).load_flow()(month=str(month) if month else None, now=ctx.now.isoformat(), **options)
    console.print_json(data=result)


@app.command("nominate")
@guarded
def nominate_command(
    child_id: Annotated[str, typer.Argument(help="The child's case id.")],
    by: ByOption,
    month: Annotated[Month, month_option()],
    now: NowOption = None,
) -> None:
    """Nominate a child's record as an example of good practice for a month's audit."""
    from auditcycle.sampling.cycle import nominate

    ctx = build_context(now)
    with session_scope() as session:
        nominate(session, ctx, child_id=child_id, by=by, month=month)
    console.print(f"Nominated {child_id} for {month} as good practice.")


@app.command("replace")
@guarded
def replace_command(
    audit_ref: Annotated[str, typer.Argument(help="The audit to swap out.")],
    by: ByOption,
    reason: Annotated[str, typer.Option("--reason", help="Why it is being replaced.")],
    now: NowOption = None,
) -> None:
    """Swap an audit out before the notices go, redrawing from the same stratum."""
    from auditcycle.sampling.cycle import replace

    ctx = build_context(now)
    with session_scope() as session:
        new = replace(session, ctx, reference=audit_ref, by=by, reason=reason)
        console.print(f"{audit_ref} replaced by {new.reference} (case {new.child_id}).")


@app.command("reschedule")
@guarded
def reschedule_command(
    meeting_ref: Annotated[str, typer.Argument(help="The meeting to move.")],
    by: ByOption,
    to: Annotated[str | None, typer.Option("--to", help="New start (ISO); default the next free slot.")] = None,
    now: NowOption = None,
) -> None:
    """Move a meeting and send the update with the same UID and a higher SEQUENCE."""
    from auditcycle.booking.meetings import reschedule
    from auditcycle.core.settings import get_settings
    from auditcycle.notifications.gateway import deliver
    from auditcycle.storage.db import get_engine

    ctx = build_context(now)
    with session_scope() as session:
        meeting = reschedule(session, ctx, reference=meeting_ref, by=by, to=to)
        when = meeting.starts_at.astimezone(ctx.tz)
    deliver(engine=get_engine(), settings=get_settings())
    console.print(f"{meeting_ref} moved to {when:%a %d %b %Y %H:%M}.")


@app.command("withdraw")
@guarded
def withdraw_command(
    audit_ref: Annotated[str, typer.Argument(help="The audit to withdraw.")],
    by: ByOption,
    reason: Annotated[str, typer.Option("--reason", help="Why it is being withdrawn.")],
    now: NowOption = None,
) -> None:
    """Withdraw an audit: cancel its meetings and tell the people notified."""
    from auditcycle.core.settings import get_settings
    from auditcycle.notifications.gateway import deliver
    from auditcycle.sampling.cycle import withdraw
    from auditcycle.storage.db import get_engine

    ctx = build_context(now)
    with session_scope() as session:
        withdraw(session, ctx, reference=audit_ref, by=by, reason=reason)
    deliver(engine=get_engine(), settings=get_settings())
    console.print(f"{audit_ref} withdrawn.")


def _deliver() -> None:
    """Send what the command queued, after its transaction has committed."""
    from auditcycle.core.settings import get_settings
    from auditcycle.notifications.gateway import deliver
    from auditcycle.storage.db import get_engine

    deliver(engine=get_engine(), settings=get_settings())


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

    ctx = build_context(now)
    with session_scope() as session:
        submission = submit_file(session, ctx, reference=audit_ref, path=form, by=by)
        version = submission.version
    _deliver()
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

    ctx = build_context(now)
    with session_scope() as session:
        dispute(session, ctx, reference=audit_ref, by=by, note=note)
    console.print(f"{audit_ref}: disagreement recorded; the audit will be moderated.")


@app.command("raise-ir")
@guarded
def raise_ir_command(
    audit_ref: Annotated[str, typer.Argument(help="The audit the concern arose in.")],
    by: ByOption,
    reason: Annotated[str, typer.Option("--reason", help="The safeguarding concern.")],
    now: NowOption = None,
) -> None:
    """Raise an Immediate Response during audit or moderation; the service manager is told at once."""
    from auditcycle.immediate_responses.lifecycle import raise_ir

    ctx = build_context(now)
    with session_scope() as session:
        ir = raise_ir(session, ctx, reference=audit_ref, by=by, reason=reason)
        ref, deadline = ir.reference, ir.deadline_at.astimezone(ctx.tz)
    _deliver()
    console.print(f"{ref} raised; the service manager must respond by {deadline:%a %d %b %Y %H:%M}.")


@app.command("respond")
@guarded
def respond_command(
    response_ref: Annotated[str, typer.Argument(help="The Immediate Response being answered.")],
    by: ByOption,
    note: Annotated[str, typer.Option("--note", help="What has been done.")],
    now: NowOption = None,
) -> None:
    """Answer an Immediate Response."""
    from auditcycle.immediate_responses.lifecycle import respond

    ctx = build_context(now)
    with session_scope() as session:
        ir = respond(session, ctx, reference=response_ref, by=by, note=note)
        same_day = ir.same_day
    _deliver()
    console.print(f"{response_ref} answered{' the same day' if same_day else ''}.")


@app.command("moderate")
@guarded
def moderate_command(
    audit_ref: Annotated[str, typer.Argument(help="The audit moderated.")],
    by: ByOption,
    grade: Annotated[str, typer.Option("--grade", help="The agreed overall grade.")],
    note: Annotated[str, typer.Option("--note", help="The panel's note.")],
    domain: Annotated[list[str] | None, typer.Option(
        "--domain", help="A changed domain grade, as slug=grade; repeat for each.")] = None,
    now: NowOption = None,
) -> None:
    """Record the moderation outcome; the agreed grades become final and every change is kept."""
    from auditcycle.core.errors import UserError
    from auditcycle.moderation.panel import record_moderation

    domains: dict[str, str] = {}
    for item in domain or []:
        slug, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--domain {item!r}: write it as slug=grade, e.g. assessment=good")
        domains[slug.strip()] = value.strip()
    ctx = build_context(now)
    with session_scope() as session:
        moderation = record_moderation(session, ctx, reference=audit_ref, by=by, grade=grade, domains=domains,
                                       note=note)
        status = moderation.status.value
    _deliver()
    console.print(f"{audit_ref}: moderation recorded ({status}); the grades are final.")


export_app = typer.Typer(help="Export what the case-management system needs.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("case-notes")
@guarded
def case_notes_command(
    month: Annotated[Month, month_option()],
    out: Annotated[Path | None, typer.Option("--out", help="Folder (default REPORTS_DIR/YYYY-MM/case-notes).")] = None,
    now: NowOption = None,
) -> None:
    """Write the case-note text of each finalised audit, one file per child named by case id."""
    from auditcycle.submissions.case_notes import export_case_notes

    ctx = build_context(now)
    wanted = str(month)
    folder = out or ctx.settings.reports_dir / wanted / "case-notes"
    with session_scope() as session:
        paths = export_case_notes(session, ctx, month=wanted, folder=folder)
    if not paths:
        console.print(f"No finalised audits for {wanted} yet: nothing written.")
        return
    console.print(f"{len(paths)} case note file(s) written to {folder}.")


action_app = typer.Typer(help="Audit actions: record completion and sign them off.", no_args_is_help=True)
app.add_typer(action_app, name="action")


@action_app.command("done")
@guarded
def action_done_command(
    action_ref: Annotated[str, typer.Argument(help="The action completed.")],
    by: ByOption,
    note: Annotated[str | None, typer.Option("--note", help="What was done.")] = None,
    now: NowOption = None,
) -> None:
    """Record that an action is done; it then awaits the line manager's sign-off."""
    from auditcycle.actions.ladder import mark_done

    ctx = build_context(now)
    with session_scope() as session:
        mark_done(session, ctx, reference=action_ref, by=by, note=note)
    _deliver()
    console.print(f"{action_ref}: done; awaiting sign-off by the line manager.")


@action_app.command("sign-off")
@guarded
def action_sign_off_command(
    action_ref: Annotated[str, typer.Argument(help="The action to sign off.")],
    by: ByOption,
    quality: Annotated[str, typer.Option("--quality", help="met or not_met: is the quality good enough?")],
    note: Annotated[str, typer.Option("--note", help="The judgement of quality as well as compliance.")],
    due: Annotated[str | None, typer.Option("--due", help="not_met: the new due date (YYYY-MM-DD).")] = None,
    now: NowOption = None,
) -> None:
    """Close an action, judging quality as well as compliance; not_met reopens it with a new due date."""
    from datetime import date

    from auditcycle.actions.ladder import sign_off
    from auditcycle.core.errors import UserError

    try:
        new_due = date.fromisoformat(due) if due else None
    except ValueError:
        raise UserError(f"--due {due!r}: not a date; write it as YYYY-MM-DD") from None
    ctx = build_context(now)
    with session_scope() as session:
        action = sign_off(session, ctx, reference=action_ref, by=by, quality=quality, note=note, new_due=new_due)
        status, due_date = action.status.value, action.due_date
    _deliver()
    if status == "open":
        console.print(f"{action_ref}: quality not met; reopened, now due {due_date}.")
    else:
        console.print(f"{action_ref}: signed off.")


observe_app = typer.Typer(help="Observations of practice.", no_args_is_help=True)
app.add_typer(observe_app, name="observe")


@observe_app.command("done")
@guarded
def observe_done_command(
    observation_ref: Annotated[str, typer.Argument(help="The observation carried out.")],
    by: ByOption,
    note: Annotated[str, typer.Option("--note", help="A short note of the observation.")] = "",
    now: NowOption = None,
) -> None:
    """Record an observation of practice as done."""
    from auditcycle.observations.assignment import record_observation

    ctx = build_context(now)
    with session_scope() as session:
        record_observation(session, ctx, reference=observation_ref, by=by, note=note)
    console.print(f"{observation_ref}: recorded.")


mad_app = typer.Typer(help="Make a Difference summaries.", no_args_is_help=True)
app.add_typer(mad_app, name="mad")


@mad_app.command("approve")
@guarded
def mad_approve_command(
    reference: Annotated[str, typer.Argument(help="The draft summary.")],
    by: ByOption,
    now: NowOption = None,
) -> None:
    """Approve a draft Make a Difference summary so it can appear in the monthly report."""
    from auditcycle.learning.culture import approve

    ctx = build_context(now)
    with session_scope() as session:
        approve(session, ctx, reference=reference, by=by)
    console.print(f"{reference}: approved for the report.")


@app.command("nominate-mad")
@guarded
def nominate_mad_command(
    staff_id: Annotated[str, typer.Argument(help="The practitioner or manager to interview.")],
    by: ByOption,
    note: Annotated[str, typer.Option("--note", help="The good outcome noticed.")],
    now: NowOption = None,
) -> None:
    """Nominate someone for a Make a Difference interview; a one-hour invite is booked."""
    from auditcycle.learning.culture import nominate_interview

    ctx = build_context(now)
    with session_scope() as session:
        mad = nominate_interview(session, ctx, practitioner_id=staff_id, by=by, note=note)
        ref, status = mad.reference, mad.status
    _deliver()
    console.print(f"{ref}: {'interview booked' if status == 'booked' else 'no slot found; the QA manager is told'}.")


report_app = typer.Typer(help="The monthly Quality Assurance report.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("notes")
@guarded
def report_notes_command(
    notes: Annotated[Path, typer.Argument(help="The QA manager's notes in Markdown: findings and planned activity.")],
    month: Annotated[Month, month_option()],
    now: NowOption = None,
) -> None:
    """Store the QA manager's notes (the theme's findings and the activity planned) for a month's report."""
    from auditcycle.core.errors import UserError
    from auditcycle.sampling.cycle import monthly_cycle

    build_context(now)
    if not notes.is_file():
        raise UserError(f"{notes}: no such file")
    # Checked before reading: four bytes a character at most, so a larger file cannot be within the limit.
    if notes.stat().st_size > 400_000:
        raise UserError(f"{notes.name}: {notes.stat().st_size:,} bytes; the notes are at most 100,000 characters")
    try:
        text = notes.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{notes.name}: not UTF-8 text (byte {exc.start}); save the notes as UTF-8") from None
    if len(text) > 100_000:
        raise UserError(f"{notes.name}: {len(text):,} characters; the notes are at most 100,000")
    if any(ord(c) < 32 and c not in "\n\r\t" or ord(c) == 127 for c in text):
        # PostgreSQL refuses NUL, and no editor writes control characters into prose on purpose.
        line = next(n for n, row in enumerate(text.split("\n"), 1)
                    if any(ord(c) < 32 and c not in "\r\t" or ord(c) == 127 for c in row))
        raise UserError(f"{notes.name} line {line}: contains a control character such as NUL; save the notes as plain text")
    with session_scope() as session:
        cycle = monthly_cycle(session, month)
        if cycle is None:
            raise UserError(f"no sample has been drawn for {month}: there is no report to add notes to")
        cycle.report_notes = text
    console.print(f"Notes stored for the {month} report; run `auditcycle run report --month {month}` to include them.")
