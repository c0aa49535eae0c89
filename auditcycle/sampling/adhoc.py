"""Ad-hoc cycles: a deep dive or a dip sample, drawn, announced and booked at short notice.

An ad-hoc cycle is drawn under the monthly cycle's rules: the same eligible children (allocated,
not audited within the re-audit exclusion, which counts every cycle, monthly or ad hoc), the same
team strata and the same conflict-free, evenly spread allocation of auditors. It is filed under
the month of its due date, with a reference numbered within that month: DD-2026-12-01 for the
first deep dive due in December 2026, DS-2026-12-01 for the first dip sample; its audits are
DD-2026-12-01-001 and so on.

Idempotency: a request repeats an earlier one when its kind, theme, cohort, team, size, due date
and focus domains all match an ad-hoc cycle sampled within the last 24 hours (on the decision
clock). That cycle is reused and nothing new is drawn, so a re-run only finishes what an earlier
run left undone (notices, bookings, delivery). The reason is left out of the match: it explains
the request and changes nothing drawn. Outside the window the same request is taken to be a
deliberate new sample, such as a follow-up dip sample, and is drawn afresh.
"""
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError, shown
from auditcycle.models import AuditCycle, Team
from auditcycle.models.enums import AuditKind, Cohort, CycleKind
from auditcycle.people.permissions import authorise
from auditcycle.sampling.cycle import (
    CLOSED,
    DRAW_LOCK,
    add_audits,
    auditor_pool,
    choose_seed,
    eligible_candidates,
    raise_supervision_gaps,
    sample_and_allocate,
)
from auditcycle.storage.db import serialise

COMMAND = "deep-dive"  # the permission both kinds are checked against: the QA team
PREFIXES = {CycleKind.DEEP_DIVE: "DD", CycleKind.DIP_SAMPLE: "DS"}
AUDIT_KINDS = {CycleKind.DEEP_DIVE: AuditKind.DEEP_DIVE, CycleKind.DIP_SAMPLE: AuditKind.DIP_SAMPLE}
LABELS = {CycleKind.DEEP_DIVE: "deep dive", CycleKind.DIP_SAMPLE: "dip sample"}
# Short notice means weeks, not months: a later request belongs in a monthly cycle's theme.
MAX_NOTICE_WORKING_DAYS = 20
REUSE_WINDOW = timedelta(hours=24)
THEME_MAX = 200  # the length of audit_cycle.theme


@dataclass(frozen=True)
class AdhocRequest:
    """An ad-hoc sample as asked for: its kind, theme, filters, size, due date, reason and focus domains."""

    kind: CycleKind
    theme: str
    size: int
    due: date
    cohort: Cohort | None = None
    team: str | None = None
    reason: str | None = None
    domains: tuple[str, ...] = ()


@dataclass
class AdhocSummary:
    """What an ad-hoc draw did, in counts and references only (no personal data)."""

    cycle: str
    kind: str
    month: Month
    due: str
    seed: int
    created: bool
    audits: int = 0
    eligible: int = 0
    teams: dict[str, int] = field(default_factory=dict)
    immediate_responses: int = 0


def check_request(session: Session, ctx: AppContext, request: AdhocRequest) -> AdhocRequest:
    """Return the request tidied (theme spacing, domains in framework order), or refuse it listing every problem."""
    if request.kind not in PREFIXES:
        raise UserError(f"{request.kind.value} is not an ad-hoc cycle: choose a deep dive or a dip sample")
    problems: list[str] = []
    theme = " ".join(request.theme.split())
    if not theme:
        problems.append("--theme is required: say what the sample looks at")
    elif len(theme) > THEME_MAX:
        problems.append(f"--theme is {len(theme)} characters; at most {THEME_MAX}")
    if request.size < 1:
        problems.append(f"--size {request.size}: draw at least one audit")
    problems += _due_problems(ctx, request.due)
    team = request.team.strip() if request.team and request.team.strip() else None
    if team and session.scalar(select(Team.id).where(Team.name == team)) is None:
        problems.append(f"--team {shown(team)!r}: no team has that name")
    domains, domain_problems = _focus_domains(ctx, request.kind, request.domains)
    problems += domain_problems
    if problems:
        label = LABELS[request.kind]
        raise UserError(f"the {label} cannot be drawn:\n" + "\n".join(f"  - {p}" for p in problems))
    reason = request.reason.strip() if request.reason and request.reason.strip() else None
    return replace(request, theme=theme, team=team, reason=reason, domains=domains)


def _due_problems(ctx: AppContext, due: date) -> list[str]:
    """Explain why a due date is not a working day after today and within the notice allowed."""
    ts = ctx.timescales
    today = ts.today(ctx.now)
    latest = ts.add_working_days(today, MAX_NOTICE_WORKING_DAYS)
    window = f"choose a working day after today ({today}) and no later than {latest}"
    if due <= today:
        return [f"--due {due}: {'is today' if due == today else 'is in the past'}; {window}"]
    if not ts.is_working_day(due):
        what = "is a bank holiday" if ts.is_bank_holiday(due) else "is not a working day"
        return [f"--due {due}: {due:%A} {what}; {window}"]
    if due > latest:
        return [f"--due {due}: more than {MAX_NOTICE_WORKING_DAYS} working days ahead; {window}"]
    return []


def _focus_domains(ctx: AppContext, kind: CycleKind, asked: tuple[str, ...]) -> tuple[tuple[str, ...], list[str]]:
    """Return the focus domains in the framework's order, and any problems with them."""
    known = list(ctx.settings.framework.domains)
    allowed = ", ".join(known)
    wanted = {d.strip() for d in asked if d.strip()}
    if kind == CycleKind.DEEP_DIVE:
        if wanted:
            return (), ["--domains: a deep dive grades every domain; draw a dip sample to focus on some"]
        return (), []
    if not wanted:
        return (), [f"--domains: a dip sample needs at least one focus domain, from: {allowed}"]
    unknown = sorted(wanted - set(known))
    if unknown:
        verb = "is not an audit domain" if len(unknown) == 1 else "are not audit domains"
        return (), [f"--domains: {', '.join(repr(d) for d in unknown)} {verb}; choose from: {allowed}"]
    return tuple(d for d in known if d in wanted), []


def find_repeat(session: Session, ctx: AppContext, request: AdhocRequest) -> AuditCycle | None:
    """Get the recent ad-hoc cycle a checked request repeats (see the module's idempotency rule), if any."""
    return session.scalars(
        select(AuditCycle).where(
            AuditCycle.kind == request.kind, AuditCycle.month == str(Month.of(request.due)),
            AuditCycle.theme == request.theme, AuditCycle.due_date == request.due,
            AuditCycle.sample_size == request.size, AuditCycle.sampled_at >= ctx.now - REUSE_WINDOW,
            AuditCycle.cohort_filter.is_(None) if request.cohort is None else AuditCycle.cohort_filter == request.cohort,
            AuditCycle.team_filter.is_(None) if request.team is None else AuditCycle.team_filter == request.team,
            AuditCycle.focus_domains.is_(None) if not request.domains
            else AuditCycle.focus_domains == ",".join(request.domains),
        ).order_by(AuditCycle.id.desc())
    ).first()


def next_reference(session: Session, kind: CycleKind, month: Month) -> str:
    """Return the next free reference of an ad-hoc cycle in a month, e.g. DD-2026-12-01."""
    stem = f"{PREFIXES[kind]}-{month}-"
    taken = session.scalars(select(AuditCycle.reference).where(AuditCycle.reference.startswith(stem)))
    numbers = [int(ref[len(stem):]) for ref in taken if ref[len(stem):].isdigit()]
    return f"{stem}{max(numbers, default=0) + 1:02d}"


def draw_adhoc(session: Session, ctx: AppContext, *, request: AdhocRequest, by: str | None = None,
               seed: int | None = None) -> AdhocSummary:
    """Draw and allocate an ad-hoc sample once; a repeat of a recent request returns that draw unchanged."""
    if by is not None:
        authorise(session, command=COMMAND, staff_id=by)
    request = check_request(session, ctx, request)
    month = Month.of(request.due)
    serialise(session, DRAW_LOCK)
    existing = find_repeat(session, ctx, request)
    if existing is not None:
        audits = [a for a in existing.audits if a.status not in CLOSED]
        return AdhocSummary(cycle=existing.reference, kind=existing.kind.value, month=existing.month,
                            due=existing.due_date.isoformat(), seed=existing.seed or 0, created=False,
                            audits=len(audits))
    auditors = auditor_pool(session)
    candidates = eligible_candidates(session, ctx, cohort=request.cohort, team=request.team)
    if not candidates:
        months = ctx.settings.framework.reaudit_exclusion_months
        raise UserError(f"no child{_filters(request)} can be drawn for the {LABELS[request.kind]}: each is "
                        f"unallocated or was audited within the last {months} months")
    seed = choose_seed(seed)
    sample, allocations = sample_and_allocate(candidates, request.size, auditors, seed)

    cycle = AuditCycle(
        reference=next_reference(session, request.kind, month), kind=request.kind, month=str(month),
        theme=request.theme, cohort_filter=request.cohort, team_filter=request.team, seed=seed,
        sample_size=request.size, due_date=request.due, sampled_at=ctx.now, created_by_id=by,
        reason=request.reason, focus_domains=",".join(request.domains) or None,
    )
    session.add(cycle)
    session.flush()
    summary = AdhocSummary(cycle=cycle.reference, kind=cycle.kind.value, month=cycle.month,
                           due=cycle.due_date.isoformat(), seed=seed, created=True, eligible=len(candidates))
    summary.teams = add_audits(session, ctx, cycle, [(c, AUDIT_KINDS[request.kind]) for c in sample], allocations,
                               stem=cycle.reference)
    summary.audits = len(sample)
    summary.immediate_responses = raise_supervision_gaps(session, ctx, cycle)
    return summary


def _filters(request: AdhocRequest) -> str:
    """Describe a request's filters in words, e.g. ' in cohort child_protection in team North'."""
    cohort = f" in cohort {request.cohort.value}" if request.cohort else ""
    return cohort + (f" in team {request.team}" if request.team else "")


def get_adhoc_cycle(session: Session, reference: str) -> AuditCycle:
    """Get an ad-hoc cycle by reference or say plainly that there is none."""
    cycle = session.scalar(select(AuditCycle).where(AuditCycle.reference == reference,
                                                    AuditCycle.kind.in_(list(PREFIXES))))
    if cycle is None:
        raise UserError(f"{shown(reference)}: no deep dive or dip sample has that reference")
    return cycle
