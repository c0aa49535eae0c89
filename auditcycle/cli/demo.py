"""Commands of the demonstration: seed a synthetic authority, replay a month, or set up and replay three."""
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from auditcycle.cli import NowOption, app, console, deliver_queued, guarded, month_option, quiet_libraries
from auditcycle.core.context import build_context
from auditcycle.demo.seed import seed_authority
from auditcycle.runs.phases import get_phase
from auditcycle.storage.db import session_scope

PROGRESS_FROM = 10_000  # smaller runs finish before a bar would be worth drawing
from collections.abc import Iterator
from contextlib import contextmanager

from auditcycle.core.clock import Month

DEFAULT_SEED = 2026

from sqlalchemy import func, select

from auditcycle.core.settings import get_settings
from auditcycle.models import Child, FamilyContact, Service, Staff, Team
from auditcycle.models.enums import Role
from auditcycle.storage.db import upgrade
from auditcycle.storage.installation import begin_simulation


@app.command("seed-demo")
@guarded
def seed_demo(
    children: Annotated[int, typer.Option("--children", min=1, help="How many children to create.")] = 1200,
    seed: Annotated[int, typer.Option("--seed", help="The seed: the same seed gives the same authority.")] = 2026,
    now: NowOption = None,
) -> None:
    """Fill an empty database with a synthetic authority of services, staff, children and diaries."""
    with session_scope() as session:
        begin_simulation(session)
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


@contextmanager
def _replay_settings() -> Iterator[None]:
    """Run flows without heartbeats for the replay's duration.

    A heartbeat lets a server notice a crashed run; an in-process replay cannot crash unseen, and the
    heartbeat thread's one-second sleep would otherwise dominate each of the replay's hundred-odd runs.
    """
    # Imported here: Prefect loads slowly, and only a replay needs its settings.
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _run_phase(phase: str, *, month: str, now: str, **options) -> dict:
    """Run one phase through the Prefect engine, as its deployment would."""
    return get_phase(phase).load_flow()(month=month, now=now, **options)


def simulate_month(month: Month, *, seed: int):
    """Replay one audit month with a progress bar, print its summary, and return the replay and figures."""
    # Imported here: the replay imports every flow, and with them Prefect.
    from auditcycle.demo.replay import month_calendar, month_figures, replay_month
    from auditcycle.runs.prefect_server import start_temporary_server

    calendar = month_calendar(build_context(f"{month.first_day.isoformat()}T12:00"), month)
    start_temporary_server()
    with Progress(TextColumn(f"[bold]{month}"), BarColumn(), MofNCompleteColumn(), TextColumn("days"),
                  TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("", total=calendar.days())

        def on_step(step) -> None:
            day = step.at.date()
            bar.update(task, completed=(day - calendar.start).days, description=f"{day:%a %d %b} {step.kind}")

        with _replay_settings():
            result = replay_month(month, seed=seed, run_phase=_run_phase, deliver=deliver_queued, on_step=on_step)
        bar.update(task, completed=calendar.days(), description="done")
    with session_scope() as session:
        figures = month_figures(session, build_context(f"{calendar.end.isoformat()}T18:00"), str(month))
    console.print(summary_table(result, figures))
    return result, figures


def summary_table(result, figures) -> Table:
    """Lay out a replayed month's figures: audits, forms, moderation, responses, actions, mail, report."""
    plan = result.plan
    table = Table(title=f"Audit month {figures.month}: replayed {result.calendar.start:%d %b} to "
                        f"{result.calendar.end:%d %b %Y}")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_column("detail")
    table.add_row("audits drawn", str(figures.audits_drawn), f"{figures.finalised} finalised")
    table.add_row("submitted on time", str(figures.submitted_on_time),
                  f"planned {plan.on_time}" if plan else "")
    table.add_row("submitted late", str(figures.submitted_late), f"planned {plan.late}" if plan else "")
    table.add_row("moderated", str(figures.moderated), f"{figures.moderation_changed} changed")
    table.add_row("Immediate Responses raised", str(figures.responses_raised),
                  f"{figures.responses_escalated} escalated")
    table.add_row("actions raised", str(figures.actions_raised),
                  f"{figures.actions_signed_off} signed off, {figures.actions_escalated} escalated")
    table.add_row("messages sent", str(figures.messages_sent),
                  f"{result.sent} by this run" + (f", {figures.messages_unsent} not sent" if figures.messages_unsent
                                                  else ""))
    runs = ", ".join(f"{phase} {n}" for phase, n in sorted(result.phase_runs.items()))
    table.add_row("phase runs", str(sum(result.phase_runs.values())), runs)
    table.add_row("report folder", "", str(figures.report_folder))
    return table


@app.command("simulate")
@guarded
def simulate_command(
    month: Annotated[Month, month_option("The audit month to replay, YYYY-MM.", required=True)],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic decisions.")] = DEFAULT_SEED,
) -> None:
    """Replay a whole audit month through the real phases on a moving clock, with synthetic decisions."""
    quiet_libraries()
    with session_scope() as session:
        begin_simulation(session)
    simulate_month(month, seed=seed)


@app.command("demo")
@guarded
def demo_command(
    children: Annotated[int, typer.Option(help="Children in the synthetic authority.")] = 1200,
    seed: Annotated[int, typer.Option(help="Seed for the synthetic authority and its decisions.")] = 2026,
    now: NowOption = None,
) -> None:
    """Set up the embedded database, seed a synthetic authority if empty, and replay the last three audit months."""
    quiet_libraries()
    upgrade()
    with session_scope() as session:
        begin_simulation(session)
    ctx = build_context(now)
    with session_scope() as session:
        if session.scalar(select(func.count()).select_from(Staff)) == 0:
            console.print(f"Seeding a synthetic authority of {children:,} children (seed {seed})…")
            seed_authority(session=session, children=children, seed=seed, now=ctx.now, timescales=ctx.timescales)
        counts = {
            "services": session.scalar(select(func.count()).select_from(Service)),
            "teams": session.scalar(select(func.count()).select_from(Team)),
            "staff": session.scalar(select(func.count()).select_from(Staff)),
            "auditors": session.scalar(select(func.count()).select_from(Staff).where(Staff.auditor)),
            "children": session.scalar(select(func.count()).select_from(Child)),
            "family contacts": session.scalar(select(func.count()).select_from(FamilyContact)),
        }
    table = Table(title="Synthetic authority")
    table.add_column("what")
    table.add_column("count", justify="right")
    for what, count in counts.items():
        table.add_row(what, f"{count:,}")
    console.print(table)
    # Oldest first, so each report compares with the month before and the trend has a direction.
    current = Month.of(ctx.timescales.today(ctx.now))
    months = [current.previous().previous(), current.previous(), current]
    console.print(f"Replaying the audit months {', '.join(map(str, months))} through Prefect, "
                  "from each draw to its report…")
    for month in months:
        simulate_month(month, seed=seed)
    settings = get_settings()
    console.print("Reports: " + ", ".join(str(settings.reports_dir / str(m) / "report.html") for m in months)
                  + " (with report.pdf, grades.csv and actions.csv beside each).")
    if settings.smtp_host:
        console.print(f"Mail went to {settings.smtp_host}.")
    else:
        emails = len(list(settings.outbox_dir.glob("*.eml"))) if settings.outbox_dir.is_dir() else 0
        console.print(f"Mail: {emails:,} messages in {settings.outbox_dir}/, one .eml file each "
                      "(they open in Outlook or Thunderbird).")
    console.print(f"Try `auditcycle list audits --month {months[-1]}` or `auditcycle list actions`.")
    with session_scope() as session:
        qa_manager = session.scalar(select(Staff.id).where(Staff.role == Role.QA_MANAGER, Staff.active)
                                    .order_by(Staff.id))
    if qa_manager is not None:
        # Plain http on this machine, so the cookie may not insist on HTTPS; a simulation signs with a throwaway key.
        console.print(f"The QA console: `AUDITCYCLE_SIMULATION=1 AUDITCYCLE_WEB_COOKIE_SECURE=false auditcycle web "
                      f"--invite {qa_manager}` mails {qa_manager} a sign-in link (the newest .eml in "
                      f"{settings.outbox_dir}/ when no mail server is set); it opens {settings.base_url}/console.")
