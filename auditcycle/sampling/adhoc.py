"""Ad-hoc cycles: a deep dive or a dip sample, drawn, announced and booked at short notice.

An ad-hoc cycle is drawn under the monthly cycle's rules: the same eligible children (allocated,
not audited within the re-audit exclusion, which counts every cycle, monthly or ad hoc), the same
team strata and the same conflict-free, evenly spread allocation of auditors. It is filed under
the month of its due date, with a reference numbered within that month: DD-2026-12-01 for the
first deep dive due in December 2026, DS-2026-12-01 for the first dip sample; its audits are
DD-2026-12-01-001 and so on.

Exactly once: a request is stored first (auditcycle.sampling.requests) and the cycle that answers it is
recorded on it in the draw's transaction, so a re-run of the same request draws nothing new.

Who: a run of a stored request is credited to the person who asked for it, checked against the table of
who may do what when it runs, so nobody can start one as someone else by naming them; a request whose
requester has since left the QA team is refused.

Idempotency: a new request repeats an earlier one when its kind, theme, cohort, team, size, due date
and focus domains all match an ad-hoc cycle sampled within the last 24 hours (on the decision
clock). That cycle is reused and nothing new is drawn, so a re-run only finishes what an earlier
run left undone (notices, bookings, delivery). The reason is left out of the match: it explains
the request and changes nothing drawn. Outside the window the same request is taken to be a
deliberate new sample, such as a follow-up dip sample, and is drawn afresh.
"""
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.core.errors import PermissionDenied, UserError, shown
from auditcycle.immediate_responses.supervision_gaps import record_suspected_gaps
from auditcycle.models import AuditCycle, DrawRequest, Staff
from auditcycle.models.enums import AuditKind, CycleKind
from auditcycle.people.permissions import authorise
from auditcycle.sampling.cycle import (
    CLOSED,
    DRAW_LOCK,
    add_audits,
    auditor_pool,
    choose_seed,
    eligible_candidates,
    sample_and_allocate,
)
from auditcycle.sampling.requests import COMMANDS, LABELS, Asked, check_request, get_request, reference_of
from auditcycle.storage.db import serialise
from auditcycle.storage.installation import check_clock

PREFIXES = {CycleKind.DEEP_DIVE: "DD", CycleKind.DIP_SAMPLE: "DS"}
# The phase, and Prefect deployment, that runs each kind of request.
PHASES = {CycleKind.DEEP_DIVE: "deep-dive", CycleKind.DIP_SAMPLE: "dip-sample"}
AUDIT_KINDS = {CycleKind.DEEP_DIVE: AuditKind.DEEP_DIVE, CycleKind.DIP_SAMPLE: AuditKind.DIP_SAMPLE}
REUSE_WINDOW = timedelta(hours=24)


@dataclass
class AdhocSummary:
    """What an ad-hoc draw did, in counts and references only (no personal data, no free text)."""

    cycle: str
    kind: str
    month: Month
    due: str
    seed: int
    created: bool
    audits: int = 0
    eligible: int = 0
    teams: dict[str, int] = field(default_factory=dict)
    supervision_gaps: int = 0  # suspected, for the auditor to confirm or dismiss


def find_repeat(session: Session, ctx: AppContext, asked: Asked) -> AuditCycle | None:
    """Get the recent ad-hoc cycle a checked request repeats (see the module's idempotency rule), if any."""
    return session.scalars(
        select(AuditCycle).where(
            AuditCycle.kind == asked.kind, AuditCycle.month == str(Month.of(asked.due)),
            AuditCycle.theme == asked.theme, AuditCycle.due_date == asked.due,
            AuditCycle.sample_size == asked.size, AuditCycle.sampled_at >= ctx.now - REUSE_WINDOW,
            AuditCycle.cohort_filter.is_(None) if asked.cohort is None else AuditCycle.cohort_filter == asked.cohort,
            AuditCycle.team_filter.is_(None) if asked.team is None else AuditCycle.team_filter == asked.team,
            AuditCycle.focus_domains.is_(None) if not asked.domains
            else AuditCycle.focus_domains == ",".join(asked.domains),
        ).order_by(AuditCycle.id.desc())
    ).first()


def next_reference(session: Session, kind: CycleKind, month: Month) -> str:
    """Return the next free reference of an ad-hoc cycle in a month, e.g. DD-2026-12-01."""
    stem = f"{PREFIXES[kind]}-{month}-"
    taken = session.scalars(select(AuditCycle.reference).where(AuditCycle.reference.startswith(stem)))
    numbers = [int(ref[len(stem):]) for ref in taken if ref[len(stem):].isdigit()]
    return f"{stem}{max(numbers, default=0) + 1:02d}"


@dataclass(frozen=True)
class AdhocStart:
    """What a run of a stored ad-hoc request starts from: the request, its month, who asked, and the clock."""

    request_id: int
    month: str       # "YYYY-MM", that of its due date
    requester: str   # the staff id the run is credited to
    clock: str | None  # in a simulation, the moment it was asked for (ISO); else None, the real time


def adhoc_start(session: Session, ctx: AppContext, *, request: str, kind: CycleKind) -> AdhocStart:
    """Read what a run of a stored ad-hoc request needs, with nothing from its free text."""
    row = get_request(session, request, kind=kind)
    # A simulation's clock moves only when told: its run is dated when it was asked for, as the CLI's --now did.
    clock = row.requested_at.isoformat() if ctx.settings.simulation else None
    check_clock(session, ctx)
    return AdhocStart(request_id=row.id, month=str(Month.of(row.due_date)), requester=row.requested_by_id, clock=clock)


def authorise_requester(session: Session, row: DrawRequest) -> Staff:
    """Return who asked for a stored request, refusing the run if they may no longer ask for one."""
    try:
        return authorise(session, command=COMMANDS[row.kind], staff_id=row.requested_by_id)
    except PermissionDenied:
        who = session.get(Staff, row.requested_by_id)
        now = "has left" if not who.active else f"is now a {who.role.value.replace('_', ' ')}"
        raise PermissionDenied(
            f"{reference_of(row)} was asked for by {who.id}, who {now} and is no longer in the QA team, so it is not "
            f"run: only the QA team may draw a {LABELS[row.kind]}. Ask a member of the QA team to ask for it again."
        ) from None


def draw_adhoc(session: Session, ctx: AppContext, *, request: str, seed: int | None = None) -> AdhocSummary:
    """Draw and allocate a stored ad-hoc request once, as its requester; a re-run, or a repeat of a recent request,
    draws nothing new."""
    serialise(session, DRAW_LOCK)
    row = get_request(session, request)
    if row.kind not in PREFIXES:
        raise UserError(f"{reference_of(row)} asks for a {LABELS[row.kind]}, not a deep dive or a dip sample")
    by = authorise_requester(session, row).id
    existing = session.get(AuditCycle, row.cycle_id) if row.cycle_id is not None else None
    if existing is None:
        # Checked again at the draw: a request stored earlier may be drawn after its due date has passed.
        asked = check_request(session, ctx, Asked.of(row))
        existing = find_repeat(session, ctx, asked)
    if existing is not None:
        row.cycle_id = existing.id
        audits = [a for a in existing.audits if a.status not in CLOSED]
        return AdhocSummary(cycle=existing.reference, kind=existing.kind.value, month=existing.month,
                            due=existing.due_date.isoformat(), seed=existing.seed or 0, created=False,
                            audits=len(audits))
    month = Month.of(asked.due)
    auditors = auditor_pool(session)
    candidates = eligible_candidates(session, ctx, cohort=asked.cohort, team=asked.team)
    if not candidates:
        months = ctx.settings.framework.reaudit_exclusion_months
        raise UserError(f"no child{_filters(asked)} can be drawn for the {LABELS[asked.kind]}: each is "
                        f"unallocated or was audited within the last {months} months")
    seed = choose_seed(seed)
    sample, allocations = sample_and_allocate(candidates, asked.size, auditors, seed)

    cycle = AuditCycle(
        reference=next_reference(session, asked.kind, month), kind=asked.kind, month=str(month),
        theme=asked.theme, cohort_filter=asked.cohort, team_filter=asked.team, seed=seed,
        sample_size=asked.size, due_date=asked.due, sampled_at=ctx.now, created_by_id=by,
        reason=asked.reason, focus_domains=",".join(asked.domains) or None,
    )
    session.add(cycle)
    session.flush()
    row.cycle_id = cycle.id
    summary = AdhocSummary(cycle=cycle.reference, kind=cycle.kind.value, month=cycle.month,
                           due=cycle.due_date.isoformat(), seed=seed, created=True, eligible=len(candidates))
    summary.teams = add_audits(session, ctx, cycle, [(c, AUDIT_KINDS[asked.kind]) for c in sample], allocations,
                               stem=cycle.reference)
    summary.audits = len(sample)
    summary.supervision_gaps = record_suspected_gaps(session, ctx, cycle)
    return summary


def _filters(asked: Asked) -> str:
    """Describe a request's filters in words, e.g. ' in cohort child_protection in team North'."""
    cohort = f" in cohort {asked.cohort.value}" if asked.cohort else ""
    return cohort + (f" in team {asked.team}" if asked.team else "")


def get_adhoc_cycle(session: Session, reference: str) -> AuditCycle:
    """Get an ad-hoc cycle by reference or say plainly that there is none."""
    cycle = session.scalar(select(AuditCycle).where(AuditCycle.reference == reference,
                                                    AuditCycle.kind.in_(list(PREFIXES))))
    if cycle is None:
        raise UserError(f"{shown(reference)}: no deep dive or dip sample has that reference")
    return cycle
