"""The phases of the month, each defined once, and the record kept of every run.

`PHASES` is the one list of phases: the CLI's `run` choices, the flows' scheduled-skip rule and default
month, the replay's timetable and the test against prefect.yaml all read it. A new phase is one more
`register(Phase(...))`.
"""
import importlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month, wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError, shown
from auditcycle.core.settings import Settings
from auditcycle.models import PhaseRun
from auditcycle.models.enums import PhaseRunStatus
from auditcycle.runs import schedule
from auditcycle.storage.db import session_scope

log = logging.getLogger(__name__)


class Covers(StrEnum):
    """The audit month a phase covers when it is given none, relative to today's month."""

    NEXT = "next"
    CURRENT = "current"
    PREVIOUS = "previous"


class Kind(StrEnum):
    """What drives a phase: the monthly cycle's calendar, a person's request, or housekeeping."""

    MONTHLY = "monthly"
    ON_REQUEST = "on request"
    HOUSEKEEPING = "housekeeping"


SkipRule = Callable[[str, AppContext, Month], str | None]


@dataclass(frozen=True)
class Phase:
    """One phase of the month: its name, the month it covers by default, its flow and its schedule."""

    name: str
    kind: Kind
    covers: Covers
    flow: str  # the prefect.yaml entrypoint, "flows/<file>.py:<function>"
    cron: str | None = None  # the default schedule in the council's zone; None runs on request only
    skip: SkipRule | None = None  # the calendar rule cron cannot say: why a scheduled run does nothing today

    def default_month(self, ctx: AppContext) -> Month:
        """Return the audit month this phase covers when none is given."""
        this_month = Month.of(ctx.timescales.today(ctx.now))
        return {Covers.NEXT: this_month.next(), Covers.CURRENT: this_month,
                Covers.PREVIOUS: this_month.previous()}[self.covers]

    def skip_reason(self, ctx: AppContext) -> str | None:
        """Return why a scheduled run of this phase has nothing to do now, or None when it should run."""
        return self.skip(self.name, ctx, self.default_month(ctx)) if self.skip else None

    def load_flow(self) -> Any:
        """Import and return this phase's Prefect flow, as a worker would from its entrypoint."""
        path, _, function = self.flow.partition(":")
        # Imported on demand: the flows import the tasks, which import every domain package.
        module = importlib.import_module("auditcycle." + path.removesuffix(".py").replace("/", "."))
        return getattr(module, function)

    def schedule_for(self, settings: Settings) -> str | None:
        """Return the phase's cron under a council's settings: its own time if it set one, else the default."""
        return settings.schedules.get(self.name, self.cron) if self.cron else None

    def cron_time(self, settings: Settings | None = None) -> tuple[int, int]:
        """Return the (hour, minute) of the schedule's first run of a day; an hourly schedule gives hour 0."""
        cron = self.schedule_for(settings) if settings is not None else self.cron
        if cron is None:
            raise ValueError(f"the {self.name} phase has no schedule")
        minute, hour, *_ = cron.split()
        return (0 if hour == "*" else int(hour.split(",")[0].split("-")[0])), int(minute)


PHASES: dict[str, Phase] = {}


def register(phase: Phase) -> Phase:
    """Add a phase to the one list of phases; a name is registered once."""
    if phase.name in PHASES:
        raise ValueError(f"the {phase.name} phase is already registered")
    PHASES[phase.name] = phase
    return phase


def get_phase(name: str) -> Phase:
    """Return a phase by name, or say which names there are."""
    try:
        return PHASES[name]
    except KeyError:
        raise UserError(f"unknown phase {shown(name)!r}: choose one of {', '.join(PHASES)}") from None


def check_schedules(settings: Settings) -> None:
    """Refuse a council schedule for a phase that does not exist or runs only on request."""
    for name in settings.schedules:
        if get_phase(name).cron is None:
            raise UserError(f"schedules.{name}: the {name} phase runs on request only and has no schedule")


def phases_of(kind: Kind) -> list[Phase]:
    """List the phases of one kind, in the order of the month."""
    return [p for p in PHASES.values() if p.kind == kind]


WORKING_DAYS = "* * 1-5"


def _mailbox_set(name: str, ctx: AppContext, month: Month) -> str | None:
    """Say why a scheduled replies run has nothing to read: no QA mailbox is set."""
    return None if ctx.settings.replies.configured else "no QA mailbox is set (replies.imap_host)"


for _phase in (
    # Sampling, notices and booking look ahead to next month. The draw fires every working-day morning but
    # acts only on the sampling day; notices and booking check through the working day, acting once the QA
    # team has approved the list or its review window has closed (auditcycle.notices.review).
    Phase("sample", Kind.MONTHLY, Covers.NEXT, "flows/sample.py:sample", f"0 7 {WORKING_DAYS}",
          schedule.on_sampling_day),
    Phase("notify", Kind.MONTHLY, Covers.NEXT, "flows/notify.py:notify", f"30 7-16 {WORKING_DAYS}",
          schedule.once_list_released),
    Phase("book", Kind.MONTHLY, Covers.NEXT, "flows/book.py:book", f"45 7-16 {WORKING_DAYS}",
          schedule.once_notified),
    Phase("chase", Kind.MONTHLY, Covers.CURRENT, "flows/chase.py:chase", f"0 8 {WORKING_DAYS}"),
    Phase("moderate", Kind.MONTHLY, Covers.PREVIOUS, "flows/moderate.py:moderate", f"0 9 {WORKING_DAYS}",
          schedule.from_moderation_day),
    Phase("responses", Kind.MONTHLY, Covers.CURRENT, "flows/responses.py:responses", "5 * * * *"),
    # Invite replies reach the QA mailbox at any hour; read every quarter of an hour (invitations.replies).
    Phase("replies", Kind.MONTHLY, Covers.CURRENT, "flows/replies.py:replies", "*/15 * * * *",
          _mailbox_set),
    Phase("escalate", Kind.MONTHLY, Covers.CURRENT, "flows/escalate.py:escalate", f"15 8 {WORKING_DAYS}"),
    Phase("observe", Kind.MONTHLY, Covers.CURRENT, "flows/observe.py:observe", f"30 8 {WORKING_DAYS}"),
    Phase("report", Kind.MONTHLY, Covers.PREVIOUS, "flows/report.py:report", f"0 10 {WORKING_DAYS}",
          schedule.on_report_day),
    Phase("deep-dive", Kind.ON_REQUEST, Covers.CURRENT, "flows/deep_dive.py:deep_dive"),
    Phase("dip-sample", Kind.ON_REQUEST, Covers.CURRENT, "flows/dip_sample.py:dip_sample"),
    Phase("retention", Kind.HOUSEKEEPING, Covers.CURRENT, "flows/retention.py:retention", "0 6 1 * *"),
    # Mail queued by the web pages leaves within a minute; the phases also drain the outbox after their work.
    Phase("deliver", Kind.HOUSEKEEPING, Covers.CURRENT, "flows/deliver.py:deliver", "* * * * *"),
):
    register(_phase)


def default_month(phase: str, ctx: AppContext) -> Month:
    """Return the audit month a phase covers when none is given."""
    return get_phase(phase).default_month(ctx)


def skip_reason(phase: str, ctx: AppContext) -> str | None:
    """Return why a scheduled run of a phase has nothing to do now, or None when it should run."""
    return get_phase(phase).skip_reason(ctx)


def resolve_month(phase: str, month: Month | None, ctx: AppContext) -> Month:
    """Return the month given, or the phase's default."""
    return month if month is not None else default_month(phase, ctx)


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
def recorded_run(phase: str, month: Month, ctx: AppContext, flow_run_id: str | None = None,
                 request_id: int | None = None) -> Iterator[RunRecord]:
    """Record a phase run: started, then succeeded with its summary or failed with its error.

    The caller holds the phase's lease, so earlier runs left running are closed as abandoned first.
    `request_id` names the stored request a deep dive's or dip sample's run draws.
    """
    get_phase(phase)
    with session_scope() as session:
        abandoned = close_abandoned_runs(session, phase)
        row = PhaseRun(phase=phase, month=str(month), clock=ctx.now, started_at=wall_clock(),
                       status=PhaseRunStatus.RUNNING, flow_run_id=flow_run_id, request_id=request_id)
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


def save_progress(record: RunRecord) -> None:
    """Store the summary of a run still going, so a page can show how far it has got."""
    with session_scope() as session:
        session.execute(update(PhaseRun).where(PhaseRun.id == record.id).values(summary=record.summary))


def record_refused_start(phase: str, month: Month, ctx: AppContext, *, error: Exception,
                         request_id: int | None = None) -> None:
    """Record a run that could not start (another run held the phase), as failed, with why."""
    get_phase(phase)
    with session_scope() as session:
        now = wall_clock()
        session.add(PhaseRun(phase=phase, month=str(month), clock=ctx.now, started_at=now, finished_at=now,
                             status=PhaseRunStatus.FAILED, error=f"{type(error).__name__}: {error}"[:4000],
                             request_id=request_id))
