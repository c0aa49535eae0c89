"""The month at a glance, for the console's first page: each phase's state, the audits at each stage,
the Immediate Responses still open, and mail that failed or is waiting."""
from dataclasses import dataclass
from datetime import datetime

from cronsim import CronSim
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.console.tracker import audit_overdue
from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.models import Audit, AuditCycle, ImmediateResponse, OutboxMessage, PhaseRun
from auditcycle.models.enums import AuditStatus, CycleKind, MessageStatus, ResponseStatus
from auditcycle.runs.phases import PHASES, Kind

# Each stage counts the audits that have reached it or gone past it (a booked audit was notified too).
STAGES = (
    ("Drawn", tuple(AuditStatus)),
    ("Notified", (AuditStatus.NOTIFIED, AuditStatus.BOOKED, AuditStatus.SUBMITTED, AuditStatus.IN_MODERATION,
                  AuditStatus.COMPLETED)),
    ("Booked", (AuditStatus.BOOKED, AuditStatus.SUBMITTED, AuditStatus.IN_MODERATION, AuditStatus.COMPLETED)),
    ("Submitted", (AuditStatus.SUBMITTED, AuditStatus.IN_MODERATION, AuditStatus.COMPLETED)),
    ("In moderation", (AuditStatus.IN_MODERATION,)),
    ("Final", (AuditStatus.COMPLETED,)),
)
GONE = (AuditStatus.REPLACED, AuditStatus.WITHDRAWN)


@dataclass(frozen=True)
class PhaseState:
    """One phase: its last run (when, how it ended, what it did or why it failed) and its next scheduled run."""

    name: str
    last_started: datetime | None
    last_status: str | None
    last_summary: str | None
    last_error: str | None
    next_run: datetime | None


@dataclass(frozen=True)
class OpenResponse:
    """An Immediate Response still waiting for its response, and its clock."""

    reference: str
    audit_ref: str
    case_id: str
    deadline_at: datetime
    overdue: bool


@dataclass(frozen=True)
class MonthView:
    """What the console's first page shows for one audit month."""

    month: Month
    phases: tuple[PhaseState, ...]
    stages: tuple[tuple[str, int], ...]
    overdue: int
    responses: tuple[OpenResponse, ...]
    failed_mail: int
    waiting_mail: int


def _summary(summary: dict | None) -> str | None:
    # A phase's summary is counts (drawn, queued, booked, sent): shown as "drawn 40, queued 112".
    if not summary:
        return None
    parts = [f"{k.replace('_', ' ')} {v}" for k, v in summary.items() if isinstance(v, int | float)
             and not isinstance(v, bool)]
    return ", ".join(parts) or None


def _next_run(cron: str | None, ctx: AppContext) -> datetime | None:
    if cron is None:
        return None
    return next(iter(CronSim(cron, ctx.now.astimezone(ctx.tz).replace(second=0, microsecond=0))))


def phase_states(session: Session, ctx: AppContext) -> tuple[PhaseState, ...]:
    """Return each scheduled phase of the month with its last run and its next scheduled run."""
    states = []
    for phase in PHASES.values():
        if phase.kind == Kind.HOUSEKEEPING and phase.name == "deliver":
            continue  # every minute: its state is the mail's, shown below
        last = session.scalar(select(PhaseRun).where(PhaseRun.phase == phase.name)
                              .order_by(PhaseRun.started_at.desc(), PhaseRun.id.desc()).limit(1))
        states.append(PhaseState(
            name=phase.name, last_started=last.started_at if last else None,
            last_status=last.status.value if last else None, last_summary=_summary(last.summary) if last else None,
            last_error=last.error if last else None,
            next_run=_next_run(phase.schedule_for(ctx.settings), ctx)))
    return tuple(states)


def month_view(session: Session, ctx: AppContext, month: Month) -> MonthView:
    """Return the month at a glance: phases, audits by stage, open Immediate Responses, mail not delivered."""
    cycle_ids = select(AuditCycle.id).where(AuditCycle.month == month)
    counts = dict(session.execute(select(Audit.status, func.count()).where(Audit.cycle_id.in_(cycle_ids))
                                  .group_by(Audit.status)).all())
    live = {status: n for status, n in counts.items() if status not in GONE}
    stages = tuple((label, sum(live.get(s, 0) for s in statuses)) for label, statuses in STAGES)
    today = ctx.timescales.today(ctx.now)
    overdue = session.scalar(select(func.count()).select_from(Audit).where(
        Audit.cycle_id.in_(cycle_ids), audit_overdue(today))) or 0
    open_irs = session.execute(
        select(ImmediateResponse.reference, Audit.reference, Audit.child_id, ImmediateResponse.deadline_at)
        .join(Audit, ImmediateResponse.audit_id == Audit.id)
        .where(ImmediateResponse.status == ResponseStatus.OPEN).order_by(ImmediateResponse.deadline_at)).all()
    mail = dict(session.execute(select(OutboxMessage.status, func.count()).where(
        OutboxMessage.status.in_((MessageStatus.FAILED, MessageStatus.PENDING, MessageStatus.SENDING)))
        .group_by(OutboxMessage.status)).all())
    return MonthView(
        month=month, phases=phase_states(session, ctx), stages=stages, overdue=overdue,
        responses=tuple(OpenResponse(ref, audit_ref, case_id, deadline, deadline <= ctx.now)
                        for ref, audit_ref, case_id, deadline in open_irs),
        failed_mail=mail.get(MessageStatus.FAILED, 0),
        waiting_mail=mail.get(MessageStatus.PENDING, 0) + mail.get(MessageStatus.SENDING, 0))


def monthly_months(session: Session) -> list[Month]:
    """List the months that have a monthly cycle, newest first, for the page's choice of month."""
    return [Month.parse(str(m)) for m in session.scalars(
        select(AuditCycle.month).where(AuditCycle.kind == CycleKind.MONTHLY).order_by(AuditCycle.month.desc()))]
