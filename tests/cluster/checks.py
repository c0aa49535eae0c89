"""What the cluster tests run and compare: a month of phases, and the figures a month leaves in the database."""
from collections import Counter
from datetime import date

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
    ("replies", "2026-12-15T09:15", {}),  # no QA mailbox is set: the run reads nothing
    ("retention", "2027-01-01T06:00", {}),
    ("moderate", "2027-01-04T09:00", {}),
    ("report", "2027-01-18T10:00", {}),
    ("deliver", "2027-01-18T10:30", {}),
]
# The ad-hoc cycles, after the month. Each draw takes a fresh random seed (recorded with it), so two runs
# draw different children: these are checked for running once and sending once, not against one process.
ADHOC_PLAN = [
    ("deep-dive", "2027-01-18T11:00", {"theme": "Neglect", "size": 2}),
    ("dip-sample", "2027-01-18T12:00", {"theme": "Direct work", "size": 2,
                                        "domains": ("relationship_direct_work", "assessment")}),
]
ADHOC_DUE = date(2027, 2, 5)
APPROVED_AT = "2026-11-23T09:30"


def parameters(phase: str, now: str, extra: dict) -> dict:
    """Return a planned run's parameters: the person, the month and the clock.

    An ad-hoc phase's only parameter is its request, stored here first as the QA manager; the sender
    takes none (it keeps no phase record).
    """
    if phase in {"deep-dive", "dip-sample"}:
        from auditcycle.core.context import build_context
        from auditcycle.models.enums import CycleKind
        from auditcycle.sampling.requests import Asked, store_request

        asked = Asked(kind=CycleKind(phase.replace("-", "_")), due=ADHOC_DUE, **extra)
        with session_scope() as session:
            return {"request": store_request(session, build_context(now), asked=asked, by=QA_MANAGER)}
    if phase == "deliver":
        return {}
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


def mail_not_sent_once(engine: Engine, received: list) -> dict:
    """Compare the mail an SMTP server received with the outbox, by Message-ID; return what is wrong, if anything."""
    ids = Counter(r.message["Message-ID"] for r in received)
    with sessionmaker(bind=engine)() as s:
        queued = set(s.scalars(select(OutboxMessage.message_id)))
    problems = {"twice": sorted(i for i, n in ids.items() if n > 1), "never": sorted(queued - set(ids)),
                "not queued": sorted(set(ids) - queued)}
    return {k: v for k, v in problems.items() if v}
