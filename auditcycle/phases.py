"""Phase runs: the month a phase covers by default, and the record kept of every run."""
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from sqlalchemy import update

from .clock import Month, wall_clock
from .context import AppContext
from .db import session_scope
from .errors import UserError
from .models import PhaseRun
from .models.enums import PhaseRunStatus

PHASES = ("sample", "notify", "book", "chase", "moderate", "responses", "escalate", "observe", "report",
          "deep-dive", "dip-sample", "retention")


def default_month(phase: str, ctx: AppContext) -> Month:
    """Return the audit month a phase covers when none is given.

    Sampling, notices and booking look ahead to next month; moderation looks back at the month just
    due; chasing, escalation, observations and response checks cover the current month (and open items
    of earlier ones).
    """
    this_month = Month.of(ctx.timescales.today(ctx.now))
    if phase in {"sample", "notify", "book"}:
        return this_month.next()
    if phase in {"moderate", "report"}:
        return this_month.previous()
    return this_month


def resolve_month(phase: str, month: str | None, ctx: AppContext) -> Month:
    """Parse `--month`, or choose the phase's default."""
    return Month.parse(month) if month else default_month(phase, ctx)


@dataclass
class RunRecord:
    """The row of the phase run in progress, and the summary to store with it."""

    id: int
    summary: dict


@contextmanager
def recorded_run(phase: str, month: Month, ctx: AppContext, flow_run_id: str | None = None) -> Iterator[RunRecord]:
    """Record a phase run: started, then succeeded with its summary or failed with its error."""
    if phase not in PHASES:
        raise UserError(f"unknown phase {phase!r}: choose one of {', '.join(PHASES)}")
    with session_scope() as session:
        row = PhaseRun(phase=phase, month=str(month), clock=ctx.now, started_at=wall_clock(),
                       status=PhaseRunStatus.RUNNING, flow_run_id=flow_run_id)
        session.add(row)
        session.flush()
        record = RunRecord(id=row.id, summary={})
    try:
        yield record
    except BaseException as exc:
        with session_scope() as session:
            session.execute(update(PhaseRun).where(PhaseRun.id == record.id).values(
                status=PhaseRunStatus.FAILED, finished_at=wall_clock(), error=f"{type(exc).__name__}: {exc}"[:4000]))
        raise
    with session_scope() as session:
        session.execute(update(PhaseRun).where(PhaseRun.id == record.id).values(
            status=PhaseRunStatus.SUCCEEDED, finished_at=wall_clock(), summary=record.summary))


def report_day(ctx: AppContext, month: Month) -> date:
    """Return the configured working day of a month on which the previous month's report is published."""
    first = ctx.timescales.first_working_day(month)
    return ctx.timescales.add_working_days(first, ctx.settings.framework.report_working_day - 1)


def scheduled_report_due(ctx: AppContext) -> bool:
    """Say whether today is the day a scheduled run publishes last month's report."""
    today = ctx.timescales.today(ctx.now)
    return today == report_day(ctx, Month.of(today))
