"""`auditcycle simulate`: replay a whole audit month through the real phases on a moving clock."""
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from auditcycle.cli import app, console, guarded, month_option
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.storage.db import session_scope

DEFAULT_SEED = 2026


def quiet_prefect() -> None:
    """Keep Prefect to warnings and offline, so a replay prints only its progress and summary.

    It must run before Prefect is first imported: Prefect reads its settings once, at import.
    """
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The report's inline SVG uses properties WeasyPrint ignores; a replay renders several reports,
    # and a warning per property would bury the summary.
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextmanager
def _replay_settings() -> Iterator[None]:
    """Run flows without heartbeats for the replay's duration.

    A heartbeat lets a server notice a crashed run; an in-process replay cannot crash unseen, and the
    heartbeat thread's one-second sleep would otherwise dominate each of the replay's hundred-odd runs.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _run_phase(phase: str, *, month: str, now: str, **options) -> dict:
    """Run one phase through the Prefect engine, as its deployment would."""
    from auditcycle.runs.phases import get_phase

    return get_phase(phase).load_flow()(month=month, now=now, **options)


def _deliver() -> int:
    """Send what a decision queued, after its commit; return how many went."""
    from auditcycle.core.settings import get_settings
    from auditcycle.notifications.gateway import deliver
    from auditcycle.storage.db import get_engine

    return deliver(engine=get_engine(), settings=get_settings()).sent


def simulate_month(month: Month, *, seed: int):
    """Replay one audit month with a progress bar, print its summary, and return the replay and figures."""
    from auditcycle.demo.replay import month_calendar, month_figures, replay_month

    calendar = month_calendar(build_context(f"{month.first_day.isoformat()}T12:00"), month)
    with Progress(TextColumn(f"[bold]{month}"), BarColumn(), MofNCompleteColumn(), TextColumn("days"),
                  TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("", total=calendar.days())

        def on_step(step) -> None:
            day = step.at.date()
            bar.update(task, completed=(day - calendar.start).days, description=f"{day:%a %d %b} {step.kind}")

        with _replay_settings():
            result = replay_month(month, seed=seed, run_phase=_run_phase, deliver=_deliver, on_step=on_step)
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
    month: Annotated[Month, month_option("The audit month to replay, YYYY-MM.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic decisions.")] = DEFAULT_SEED,
) -> None:
    """Replay a whole audit month through the real phases on a moving clock, with synthetic decisions."""
    quiet_prefect()
    simulate_month(month, seed=seed)
