"""Phase runs: the month a phase covers by default, and the record kept of every run."""
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month, wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.models import PhaseRun
from auditcycle.models.enums import PhaseRunStatus
from auditcycle.storage.db import session_scope

log = logging.getLogger(__name__)
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
    """The row of the phase run in progress, the summary to store with it, and the dead runs it found."""

    id: int
    summary: dict
    abandoned_flow_runs: list[str] = field(default_factory=list)


def close_abandoned_runs(session: Session, phase: str) -> list[PhaseRun]:
    """Mark as failed the runs of a phase still recorded as running; return them.

    Call only while holding the phase's lease: runs of a phase never overlap, so a run still marked
    running then is one whose process was killed or lost before it could record its end.
    """
    stale = list(session.scalars(select(PhaseRun).where(
        PhaseRun.phase == phase, PhaseRun.status == PhaseRunStatus.RUNNING)))
    for run in stale:
        run.status = PhaseRunStatus.FAILED
        run.finished_at = wall_clock()
        run.error = ("abandoned: the run stopped without recording an end (its process was killed or lost); "
                     "a later run of the phase took over and redid what was left")
        log.warning("the %s run %s started at %s was abandoned; marked failed", phase, run.id,
                    run.started_at.isoformat(timespec="seconds"))
    return stale


@contextmanager
def recorded_run(phase: str, month: Month, ctx: AppContext, flow_run_id: str | None = None) -> Iterator[RunRecord]:
    """Record a phase run: started, then succeeded with its summary or failed with its error.

    The caller holds the phase's lease, so earlier runs left running are closed as abandoned first.
    """
    if phase not in PHASES:
        raise UserError(f"unknown phase {phase!r}: choose one of {', '.join(PHASES)}")
    with session_scope() as session:
        abandoned = close_abandoned_runs(session, phase)
        row = PhaseRun(phase=phase, month=str(month), clock=ctx.now, started_at=wall_clock(),
                       status=PhaseRunStatus.RUNNING, flow_run_id=flow_run_id)
        session.add(row)
        session.flush()
        record = RunRecord(id=row.id, summary={},
                           abandoned_flow_runs=[r.flow_run_id for r in abandoned if r.flow_run_id])
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
