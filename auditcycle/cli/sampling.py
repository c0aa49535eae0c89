"""Commands of the sample: ask for and make good-practice nominations, replace or withdraw an audit, and draw a deep
dive or dip sample."""
# Each command imports the domain inside its body, so `auditcycle --help` and unrelated commands start fast.
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from auditcycle.cli import (
    ByOption,
    NowOption,
    app,
    console,
    deliver_queued,
    guarded,
    month_argument,
    month_option,
    unit_of_work,
)
from auditcycle.cli.summaries import JsonOption, run_and_show
from auditcycle.core.clock import Month
from auditcycle.core.errors import UserError, shown
from auditcycle.core.region import council_parameter
from auditcycle.models.enums import Cohort, CycleKind
from auditcycle.runs.phases import get_phase
from auditcycle.runs.prefect_server import run_by_hand
from auditcycle.sampling.adhoc import PHASES
from auditcycle.sampling.requests import MAX_NOTICE_WORKING_DAYS, Asked
from auditcycle.storage.db import session_scope

ThemeOption = Annotated[str, typer.Option("--theme", help="What the sample looks at.")]
SizeOption = Annotated[int, typer.Option("--size", help="How many audits to draw (at least one).")]
DueOption = Annotated[str, typer.Option("--due", metavar="DATE", help=(
    f"The due date, YYYY-MM-DD: a working day after today, within {MAX_NOTICE_WORKING_DAYS} working days."))]
CohortOption = Annotated[Cohort | None, typer.Option("--cohort", help="Draw only from this cohort.")]
TeamOption = Annotated[str | None, typer.Option("--team", help="Draw only from this team.")]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why the sample was called.")]
StoreOnlyOption = Annotated[bool, typer.Option("--store-only", help=(
    "Only store the request and print its reference (REQ-…), to start from the Prefect UI or deployment."))]


@app.command("nominate")
@guarded
def nominate_command(
    child_id: Annotated[str, typer.Argument(help="The child's case id.")],
    by: ByOption,
    month: Annotated[Month, month_option(required=True)],
    reason: Annotated[str, typer.Option("--reason", help=(
        "Why the record is an example of good practice; refer to the child by case id, no names."))],
    now: NowOption = None,
) -> None:
    """Nominate a child's record in your service as an example of good practice for a month's audit."""
    from auditcycle.sampling.nominations import nominate

    with unit_of_work(now) as (session, ctx):
        nominate(session, ctx, child_id=child_id, by=by, month=month, reason=reason)
    console.print(f"Nominated {child_id} for {month} as good practice.")


@app.command("ask-good-practice")
@guarded
def ask_good_practice_command(
    month: Annotated[Month, month_argument("The audit month the examples are for.")],
    by: ByOption,
    now: NowOption = None,
) -> None:
    """Email each service manager, once, asking for an example of good practice for a month's audit."""
    from auditcycle.sampling.nominations import ask_for_good_practice

    with unit_of_work(now) as (session, ctx):
        summary = ask_for_good_practice(session, ctx, month=month, by=by)
    deliver_queued()
    console.print(f"Asked {summary.asked} service {'manager' if summary.asked == 1 else 'managers'} for an example "
                  f"of good practice for {month.label}, by {summary.deadline_label}.", highlight=False)
    if summary.already_asked:
        console.print(f"{summary.already_asked} had already been asked, and were not asked again.", highlight=False)
    if summary.not_asked:
        console.print(f"Not asked: {'; '.join(summary.not_asked)}.", highlight=False)


@app.command("approve-list")
@guarded
def approve_list_command(
    month: Annotated[Month, month_argument("The audit month whose drawn list you approve.")],
    by: ByOption,
    now: NowOption = None,
) -> None:
    """Approve a month's drawn list after review, so its notices go with the next notify run."""
    from auditcycle.notices.review import approve_list
    from auditcycle.notifications.notices import moment_label
    from auditcycle.sampling.cycle import require_monthly_cycle

    with unit_of_work(now) as (session, ctx):
        cycle = require_monthly_cycle(session, month)
        recorded = approve_list(session, ctx, cycle=cycle, by=by)
        approver, when = cycle.list_approved_by_id, moment_label(cycle.list_approved_at, ctx.tz)
    if not recorded:
        console.print(f"The {month.label} list was already approved by {approver} at {when}; nothing changed.")
    else:
        console.print(f"Approved the {month.label} list at {when}: its notices go with the next notify run "
                      f"(or now with `auditcycle run notify --month {month} --by {by}`).")


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

    with unit_of_work(now) as (session, ctx):
        new = replace(session, ctx, reference=audit_ref, by=by, reason=reason)
        console.print(f"{audit_ref} replaced by {new.reference} (case {new.child_id}).")


@app.command("withdraw")
@guarded
def withdraw_command(
    audit_ref: Annotated[str, typer.Argument(help="The audit to withdraw.")],
    by: ByOption,
    reason: Annotated[str, typer.Option("--reason", help="Why it is being withdrawn.")],
    now: NowOption = None,
) -> None:
    """Withdraw an audit: cancel its meetings and tell the people notified."""
    from auditcycle.sampling.cycle import withdraw

    with unit_of_work(now) as (session, ctx):
        withdraw(session, ctx, reference=audit_ref, by=by, reason=reason)
    deliver_queued()
    console.print(f"{audit_ref} withdrawn.")


def _due(value: str) -> date:
    """Read --due as an ISO date, saying how to write it when it is not one."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"--due {shown(value)!r}: not a date; write it as YYYY-MM-DD, e.g. 2026-12-04") from None


def _store_and_run(asked: Asked, by: str, now: str | None, store_only: bool, as_json: bool) -> None:
    """Store the request as `by` (checked: a QA team member), then run its flow with the reference alone unless told
    not to; the run is credited to whoever the stored request names, in a simulation at its clock."""
    from auditcycle.sampling.requests import store_request

    with unit_of_work(now) as (session, ctx):
        reference = store_request(session, ctx, asked=asked, by=by)
    if store_only:
        console.print(reference, highlight=False)
        return
    flow = get_phase(PHASES[asked.kind]).load_flow()
    phase = PHASES[asked.kind]
    run_and_show(phase, f"{phase} {reference}", lambda: run_by_hand(flow, request=reference, **council_parameter()),
                 as_json=as_json)


@app.command("deep-dive")
@guarded
def deep_dive_command(
    theme: ThemeOption,
    size: SizeOption,
    due: DueOption,
    by: ByOption,
    cohort: CohortOption = None,
    team: TeamOption = None,
    reason: ReasonOption = None,
    store_only: StoreOnlyOption = False,
    now: NowOption = None,
    as_json: JsonOption = False,
) -> None:
    """Draw a deep dive at short notice, notify everyone involved and book its meetings, in one run."""
    _store_and_run(Asked(kind=CycleKind.DEEP_DIVE, theme=theme, size=size, due=_due(due), cohort=cohort, team=team,
                         reason=reason), by, now, store_only, as_json)


@app.command("dip-sample")
@guarded
def dip_sample_command(
    theme: ThemeOption,
    size: SizeOption,
    due: DueOption,
    domains: Annotated[str, typer.Option("--domains", help="The audit domains graded, as slugs: slug,slug.")],
    by: ByOption,
    cohort: CohortOption = None,
    team: TeamOption = None,
    reason: ReasonOption = None,
    store_only: StoreOnlyOption = False,
    now: NowOption = None,
    as_json: JsonOption = False,
) -> None:
    """Draw a dip sample on some audit domains at short notice, notify and book its meetings, in one run."""
    slugs = tuple(d.strip() for d in domains.split(",") if d.strip())
    _store_and_run(Asked(kind=CycleKind.DIP_SAMPLE, theme=theme, size=size, due=_due(due), cohort=cohort, team=team,
                         reason=reason, domains=slugs), by, now, store_only, as_json)


themes_app = typer.Typer(help="The year's plan of monthly audit themes.", no_args_is_help=True)
app.add_typer(themes_app, name="themes")


@themes_app.command("plan")
@guarded
def themes_plan_command(
    plan: Annotated[Path, typer.Argument(help="A TOML file: a [YYYY-MM] table per month, theme = \"...\", "
                                               "revisit = true for a theme looked at before.")],
    by: ByOption,
    now: NowOption = None,
) -> None:
    """Store the plan of monthly themes, whole or not at all; each month's draw takes its planned theme."""
    from auditcycle.sampling.themes import store_plan

    with unit_of_work(now) as (session, ctx):
        rows = store_plan(session, path=plan, by=by, now=ctx.now)
        lines = [f"{row.month}  {row.theme}{'  (revisit)' if row.revisit else ''}" for row in rows]
    console.print(f"{len(lines)} months planned:", *lines, sep="\n", markup=False)


@themes_app.command("list")
@guarded
def themes_list_command() -> None:
    """List the planned themes, month by month."""
    from sqlalchemy import select

    from auditcycle.models import PlannedTheme

    with session_scope() as session:
        rows = list(session.scalars(select(PlannedTheme).order_by(PlannedTheme.month)))
        lines = [f"{row.month}  {row.theme}{'  (revisit)' if row.revisit else ''}" for row in rows]
    console.print(*(lines or ["No themes are planned: see `auditcycle themes plan --help`."]), sep="\n", markup=False)
