"""The monthly audit cycle: draw the sample (with the month's good-practice nominations), allocate, replace and withdraw."""
import secrets
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.immediate_responses.supervision_gaps import record_suspected_gaps
from auditcycle.models import Audit, AuditCycle, Child, Nomination, Staff, Team
from auditcycle.models.enums import (
    AuditKind,
    AuditStatus,
    Cohort,
    CycleKind,
)
from auditcycle.notices.review import open_review
from auditcycle.people.cases import case_of, cases_of
from auditcycle.people.directory import Directory
from auditcycle.people.permissions import authorise
from auditcycle.privacy.redaction import Redactor
from auditcycle.sampling.draw import (
    Allocation,
    AllocationImpossible,
    Auditor,
    Candidate,
    allocate,
    draw_sample,
    may_audit,
    redraw_one,
)
from auditcycle.sampling.requests import get_request
from auditcycle.sampling.themes import planned_theme
from auditcycle.storage.db import serialise
from auditcycle.storage.records import get_audit

CLOSED = (AuditStatus.REPLACED, AuditStatus.WITHDRAWN)
# Who was audited lately decides who may be drawn, so draws of any kind (monthly, ad-hoc, a
# replacement) take turns: two at once on PostgreSQL would each miss the other's children.
DRAW_LOCK = "draw"


@dataclass
class DrawSummary:
    """What the draw did, in counts and references only (no personal data)."""

    month: Month
    cycle: str
    seed: int
    created: bool
    audits: int = 0
    good_practice: int = 0
    eligible: int = 0
    teams: dict[str, int] = field(default_factory=dict)
    supervision_gaps: int = 0  # suspected, for the auditor to confirm or dismiss
    list_sent: int = 0  # the drawn list, one message to each QA manager for review


def cycle_reference(kind: CycleKind, month: Month) -> str:
    """Return the reference of a month's cycle, e.g. C-2026-12."""
    return f"C-{month}" if kind == CycleKind.MONTHLY else f"{kind.value.upper()}-{month}"


def monthly_cycle(session: Session, month: Month) -> AuditCycle | None:
    """Get the monthly cycle for an audit month, if drawn."""
    return session.scalar(select(AuditCycle).where(AuditCycle.reference == cycle_reference(CycleKind.MONTHLY, month)))


def require_monthly_cycle(session: Session, month: Month) -> AuditCycle:
    """Get the monthly cycle for an audit month, or say plainly that its sample has not been drawn."""
    cycle = monthly_cycle(session, month)
    if cycle is None:
        raise UserError(f"no sample has been drawn for {month}: run `auditcycle run sample --month {month}` first")
    return cycle


def _recently_audited(session: Session, cutoff: date) -> select:
    return (
        select(Audit.child_id)
        .join(AuditCycle)
        .where(AuditCycle.due_date >= cutoff, Audit.status.not_in(CLOSED))
    )


def eligible_candidates(
    session: Session, ctx: AppContext, *, cohort: Cohort | None = None, team: str | None = None,
    exclude: set[str] = frozenset(), only: set[str] | None = None,
) -> list[Candidate]:
    """List the children who may be drawn: allocated, and not audited within the re-audit exclusion."""
    key_worker = aliased(Staff)
    cutoff = ctx.timescales.reaudit_cutoff(ctx.timescales.today(ctx.now))
    # Service managers in post only: the assistant directors who hear when there are none have no part in the case.
    service_managers = {service_id: frozenset(s.id for s in managers)
                        for service_id, managers in Directory(session).service_managers.items()}
    stmt = (
        select(Child.id, Team.name, Child.key_worker_id, key_worker.manager_id, Child.iro_id, Child.cp_chair_id,
               Team.service_id)
        .join(Team, Child.team_id == Team.id)
        .join(key_worker, Child.key_worker_id == key_worker.id)
        .where(Child.key_worker_id.is_not(None), Child.id.not_in(_recently_audited(session, cutoff)))
        .order_by(Child.id)
    )
    if cohort:
        stmt = stmt.where(Child.cohort == cohort)
    if team:
        stmt = stmt.where(Team.name == team)
    if only is not None:
        stmt = stmt.where(Child.id.in_(only))
    return [
        Candidate(child_id=cid, team=tname, key_worker_id=kw, key_worker_manager_id=mgr, iro_id=iro,
                  cp_chair_id=chair, service_manager_ids=service_managers.get(service_id, frozenset()))
        for cid, tname, kw, mgr, iro, chair, service_id in session.execute(stmt)
        if cid not in exclude
    ]


def available_auditors(session: Session) -> list[Auditor]:
    """List the active auditors with their teams."""
    rows = session.execute(
        select(Staff.id, Team.name, Staff.new_auditor)
        .outerjoin(Team, Staff.team_id == Team.id)
        .where(Staff.auditor, Staff.active)
        .order_by(Staff.id)
    )
    return [Auditor(staff_id=sid, team=tname, new=bool(new)) for sid, tname, new in rows]


def auditor_pool(session: Session) -> list[Auditor]:
    """List the active auditors, or say plainly that there are none."""
    auditors = available_auditors(session)
    if not auditors:
        raise UserError("no active auditors: flag staff as auditors in the staff import first")
    return auditors


def choose_seed(seed: int | None) -> int:
    """Return the given seed, or a fresh random one to record with the draw."""
    return seed if seed is not None else secrets.randbelow(2**31)


def sample_and_allocate(candidates: list[Candidate], size: int, auditors: list[Auditor], seed: int, *,
                        fixed: list[Candidate] = ()) -> tuple[list[Candidate], dict[str, Allocation]]:
    """Draw `size` children at random beside the fixed ones and give each a conflict-free auditor."""
    sample = draw_sample(candidates, size, seed)
    try:
        allocations = {a.child_id: a for a in allocate([*fixed, *sample], auditors, seed)}
    except AllocationImpossible as exc:
        raise UserError(f"the sample cannot be allocated: {exc}") from exc
    return sample, allocations


def add_audits(session: Session, ctx: AppContext, cycle: AuditCycle, chosen: list[tuple[Candidate, AuditKind]],
               allocations: dict[str, Allocation], *, stem: str) -> dict[str, int]:
    """Add an allocated audit to the cycle for each chosen child, numbered under the stem; count them by team."""
    teams: dict[str, int] = {}
    cases = cases_of(session, [candidate.child_id for candidate, _ in chosen])
    for number, (candidate, kind) in enumerate(chosen, start=1):
        allocation = allocations[candidate.child_id]
        audit = Audit(
            reference=f"{stem}-{number:03d}", cycle_id=cycle.id, child_id=candidate.child_id,
            auditor_id=allocation.auditor_id, buddy_id=allocation.buddy_id, kind=kind,
            status=AuditStatus.ALLOCATED, due_date=cycle.due_date, stratum=candidate.team, created_at=ctx.now,
        )
        cases[candidate.child_id].record_on(audit)
        session.add(audit)
        teams[candidate.team] = teams.get(candidate.team, 0) + 1
    session.flush()
    return teams


def draw(
    session: Session, ctx: AppContext, *, month: Month, theme: str | None = None, request: str | None = None,
    cohort: Cohort | None = None, team: str | None = None, size: int | None = None, seed: int | None = None,
) -> DrawSummary:
    """Draw and allocate a month's audits once; a re-run returns the recorded draw unchanged.

    The theme is given, or read from a stored monthly request (`request`, e.g. REQ-17), which then
    records the cycle drawn, or else it is the month's planned theme (auditcycle.sampling.themes).
    """
    asked = get_request(session, request, kind=CycleKind.MONTHLY) if request is not None else None
    if asked is not None:
        theme = asked.theme
    if theme is None:
        theme = planned_theme(session, month)
    serialise(session, DRAW_LOCK)
    existing = monthly_cycle(session, month)
    if existing is not None:
        audits = [a for a in existing.audits if a.status not in CLOSED]
        return DrawSummary(month=str(month), cycle=existing.reference, seed=existing.seed or 0, created=False,
                           audits=len(audits))
    if team and session.scalar(select(Team.id).where(Team.name == team)) is None:
        raise UserError(f"--team {team!r}: no team has that name")
    seed = choose_seed(seed)
    auditors = auditor_pool(session)

    nominations = list(session.scalars(
        select(Nomination).where(Nomination.month == str(month), Nomination.audit_id.is_(None))
        .order_by(Nomination.id)
    ))
    nominated_ids = {n.child_id for n in nominations}
    nominated = eligible_candidates(session, ctx, only=nominated_ids) if nominated_ids else []
    candidates = eligible_candidates(session, ctx, cohort=cohort, team=team, exclude=nominated_ids)
    size = len(auditors) if size is None else size
    if size < 0:
        raise UserError("--size must be zero or more")
    sample, allocations = sample_and_allocate(candidates, max(size - len(nominated), 0), auditors, seed,
                                              fixed=nominated)

    due = ctx.timescales.last_working_day(month)
    cycle = AuditCycle(
        reference=cycle_reference(CycleKind.MONTHLY, month), kind=CycleKind.MONTHLY, month=str(month),
        theme=theme, cohort_filter=cohort, team_filter=team, seed=seed, sample_size=size, due_date=due,
        sampled_at=ctx.now,
    )
    session.add(cycle)
    session.flush()
    if asked is not None:
        asked.cycle_id = cycle.id
    summary = DrawSummary(month=str(month), cycle=cycle.reference, seed=seed, created=True,
                          eligible=len(candidates))
    chosen = [(c, AuditKind.GOOD_PRACTICE) for c in nominated] + [(c, AuditKind.DEEP_DIVE) for c in sample]
    summary.teams = add_audits(session, ctx, cycle, chosen, allocations, stem=f"A-{month}")
    summary.good_practice = len(nominated)
    audit_of = {a.child_id: a.id for a in cycle.audits}
    for nomination in nominations:
        nomination.audit_id = audit_of.get(nomination.child_id)
    summary.audits = len(chosen)
    summary.supervision_gaps = record_suspected_gaps(session, ctx, cycle)
    summary.list_sent = open_review(session, ctx, cycle)
    return summary


def replace(session: Session, ctx: AppContext, *, reference: str, by: str, reason: str) -> Audit:
    """Swap an audit out before the notices go, redrawing from the same stratum for the same auditor."""
    authorise(session, command="replace", staff_id=by)
    if not reason.strip():
        raise UserError("--reason is required: say why the audit is being replaced")
    serialise(session, DRAW_LOCK)
    old = get_audit(session, reference)
    ctx.refuse_before(old.created_at, f"{reference} was drawn")
    if old.status != AuditStatus.ALLOCATED:
        raise UserError(f"{reference} is {old.status.value}: only an audit not yet notified can be replaced")
    cycle = old.cycle
    in_cycle = set(session.scalars(select(Audit.child_id).where(Audit.cycle_id == cycle.id)))
    auditor = next(a for a in available_auditors(session) if a.staff_id == old.auditor_id) if old.auditor_id else None
    pool = [
        c for c in eligible_candidates(session, ctx, exclude=in_cycle)
        if auditor is None or may_audit(auditor, c)
    ]
    # Each replacement in a cycle draws with its own seed, derived from the recorded one, so it is reproducible.
    replaced = len(list(session.scalars(
        select(Audit.id).where(Audit.cycle_id == cycle.id, Audit.replaces_id.is_not(None)))))
    choice = redraw_one(pool, old.stratum or "", in_cycle, (cycle.seed or 0) + 1 + replaced)
    if choice is None:
        raise UserError(f"no other eligible child in {old.stratum} can be audited by {old.auditor_id}")
    old.status = AuditStatus.REPLACED
    old.status_reason = reason.strip()
    number = len(in_cycle) + 1
    new = Audit(
        reference=f"A-{cycle.month}-{number:03d}", cycle_id=cycle.id, child_id=choice.child_id,
        auditor_id=old.auditor_id, buddy_id=old.buddy_id, kind=old.kind, status=AuditStatus.ALLOCATED,
        due_date=old.due_date, stratum=old.stratum, replaces_id=old.id, created_at=ctx.now,
    )
    case_of(session, choice.child_id).record_on(new)
    session.add(new)
    session.flush()
    record_suspected_gaps(session, ctx, cycle)
    return new


def withdraw(session: Session, ctx: AppContext, *, reference: str, by: str, reason: str) -> Audit:
    """Withdraw an audit: cancel its meetings and tell everyone who was notified."""
    from auditcycle.booking.meetings import cancel_meetings, involved_recipients
    from auditcycle.notices.queue import PHASE
    from auditcycle.notifications.notices import compose_withdrawal
    from auditcycle.notifications.outbox import MessageKey, enqueue

    authorise(session, command="withdraw", staff_id=by)
    if not reason.strip():
        raise UserError("--reason is required: say why the audit is being withdrawn")
    audit = get_audit(session, reference)
    ctx.refuse_before(audit.created_at, f"{reference} was drawn")
    if audit.status in CLOSED:
        raise UserError(f"{reference} is already {audit.status.value}")
    was_notified = audit.status != AuditStatus.ALLOCATED
    audit.status = AuditStatus.WITHDRAWN
    audit.status_reason = reason.strip()
    said = Redactor.about(session, audit.child)(audit.status_reason)
    cancel_meetings(session, ctx, audit=audit, reason=said)
    if was_notified:
        for person in sorted(involved_recipients(session, audit)):
            message = compose_withdrawal(recipient_name=person.name, month=audit.cycle.month,
                                         audit_ref=audit.reference, child_id=audit.child_id, reason=said)
            enqueue(session, ctx, MessageKey(PHASE, audit.cycle.month, audit.reference, "withdrawn"), person, message)
    session.flush()
    return audit
