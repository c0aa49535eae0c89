"""What the cluster tests run and compare: a month of phases, and the figures a month leaves in the database."""
from collections import Counter

from conftest import QA_MANAGER
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import sessionmaker

from auditcycle.models import Audit, Meeting, OutboxMessage, PhaseRun
from auditcycle.storage.db import session_scope

MONTH = "2026-12"
# The December cycle in the order of the month, each phase run by hand by the QA manager at its time.
MONTH_PLAN = [
    ("sample", "2026-11-23T07:00", {"seed": 4}),
    ("notify", "2026-11-23T10:00", {}),
    ("book", "2026-11-23T11:00", {}),
    ("observe", "2026-12-01T08:30", {}),
    ("chase", "2026-12-14T08:00", {}),
    ("responses", "2026-12-14T09:05", {}),
    ("escalate", "2026-12-15T08:15", {}),
    ("retention", "2027-01-01T06:00", {}),
    ("moderate", "2027-01-04T09:00", {}),
    ("report", "2027-01-18T10:00", {}),
]
APPROVED_AT = "2026-11-23T09:30"


def parameters(phase: str, now: str, extra: dict) -> dict:
    """Return a planned run's parameters: the person, the month and the clock."""
    return {"by": QA_MANAGER, "month": MONTH, "now": now, **extra}


def between(phase: str) -> None:
    """Do what people do after a phase and before the next: the QA team approves the drawn list."""
    from factories import approve_list_at

    if phase == "sample":
        with session_scope() as session:
            approve_list_at(session, APPROVED_AT, MONTH)


def phase_runs(engine: Engine) -> list[tuple[str, str | None, str]]:
    """Return each recorded phase run as (phase, flow run id, status), in order."""
    with sessionmaker(bind=engine)() as s:
        return [(r.phase, r.flow_run_id, r.status.value) for r in s.scalars(select(PhaseRun).order_by(PhaseRun.id))]


def figures(engine: Engine) -> dict:
    """Return what a month left behind: audits, meetings, messages by template and status, runs' summaries."""
    with sessionmaker(bind=engine)() as s:
        messages = Counter((m.template, m.status.value) for m in s.scalars(select(OutboxMessage)))
        summaries = {r.phase: _without_clock(r.summary) for r in s.scalars(select(PhaseRun))}
        return {
            "audits": s.scalar(select(func.count()).select_from(Audit)),
            "meetings": s.scalar(select(func.count()).select_from(Meeting)),
            "messages": dict(messages),
            "summaries": summaries,
        }


def _without_clock(summary: dict | None) -> dict:
    """Drop what differs between two equal runs: real durations and times."""
    return {k: v for k, v in (summary or {}).items() if k not in {"delivery", "seconds", "elapsed"}}


def duplicate_keys(engine: Engine) -> list[str]:
    """Return the outbox idempotency keys held by more than one message."""
    with sessionmaker(bind=engine)() as s:
        return list(s.scalars(select(OutboxMessage.idempotency_key).group_by(OutboxMessage.idempotency_key)
                              .having(func.count() > 1)))
