"""The monthly QA report's numbers: one plain, frozen data structure built from the database.

The renderer (HTML, PDF, CSV, email) reads `ReportData` and nothing else, so every count and
percentage is decided here, once. The rules:

- **The month's audits** are those of the month's *monthly* cycle (deep dives and dip samples have
  cycles of their own and are not part of the monthly report). Replaced and withdrawn audits are
  left out of every audit count; their actions and Immediate Responses, if any, still count.
- **Completed** means a form has been submitted. **On time** means the (latest) form was submitted by
  the end of working hours (`working_day_end`) on the audit's due date, the framework's "due on a date".
- **Team and service** are those the audit recorded of the child's case (drawn, then fixed at the first
  submission: `people.cases`), not the child's allocation today.
- **Final overall grade** is the panel's grade once moderation has decided, else the submitted one
  (`trends.final_overall`). Domain grades are the current ones, which moderation updates in place.
- **Escalated to senior managers** counts actions, not ladder steps: those whose escalation step is at
  or beyond the ladder's first step telling a service manager or assistant director
  (`actions.ladder.reached_senior`).
- **Immediate Responses** fall in exactly one of four categories, which add up to the number raised:
  answered the same day (within the deadline), answered within 24 hours (within the deadline, a later
  day), answered late (after the deadline) and still open. Each late one is listed by reference and
  case id with its raised and answered times.
- **Percentages** are floats 0-100 rounded to one decimal place, or None when nothing is counted.
- **Free text** (family feedback quotes, Make a Difference summaries, the theme and the QA manager's
  findings) goes through the one redactor (`privacy.redaction`): for the child it is about, or for the
  whole caseload when it is about the month.
- **The trend** covers the twelve months to the report's month, starting at the first of them with a
  completed audit: a chart of months before the service began auditing would be a row of gaps.
- **One wall-clock date**: "produced on" is the real date of production (`generated_on`). Every
  figure reads only the context's clock (`as_at`), for "today" (overdue actions, observation coverage,
  whether moderation has closed), so the same database and the same `--now` give the same figures.

Every query is bounded by the month (or the twelve months of the trend) and loads each kind of row
once; nothing is queried per audit.
"""
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from auditcycle.actions.ladder import reached_senior, working_days_overdue
from auditcycle.core.clock import Month, wall_clock
from auditcycle.core.context import AppContext
from auditcycle.learning.culture import approved_summaries
from auditcycle.models import (
    Action,
    Audit,
    AuditCycle,
    DomainGrade,
    FamilyFeedback,
    ImmediateResponse,
    Moderation,
    Observation,
    Service,
    Staff,
    Submission,
    Team,
    TrendFlag,
)
from auditcycle.models.enums import ActionStatus, AuditStatus, CycleKind, ObservationStatus
from auditcycle.moderation.panel import is_closed
from auditcycle.observations.assignment import coverage
from auditcycle.privacy.redaction import Redactor, redactors_for
from auditcycle.sampling.themes import last_time
from auditcycle.trends.follow_up import follow_up_label
from auditcycle.trends.scrutiny import PRACTITIONER, REVIEW_UNIT, TEAM, final_overall

CLOSED = (AuditStatus.REPLACED, AuditStatus.WITHDRAWN)
TREND_MONTHS = 12
# How many earlier cycles "closing the loop" follows; belongs in FrameworkSettings once settings can change.
LOOP_MONTHS = 6
BAND_1_5 = "1–5 working days"
BAND_6_10 = "6–10 working days"
BAND_OVER_10 = "more than 10 working days"
OVERDUE_BANDS = (BAND_1_5, BAND_6_10, BAND_OVER_10)
OUTCOMES = ("spoke", "declined", "unreachable", "not_appropriate")
FLAG_LABELS = {
    PRACTITIONER: "Practitioner with consecutive inadequate audits",
    TEAM: "Team with a high share of inadequate audits",
    REVIEW_UNIT: "Cared for child with the review unit domain graded inadequate",
}
YES, NO = "yes", "no"
SAME_DAY, WITHIN_24H, LATE, OPEN = "same day", "within 24 hours", "late", "still open"


@dataclass(frozen=True)
class Headline:
    """The month at a glance: audits allocated, completed, on time, and the share of each final grade."""

    allocated: int
    completed: int
    completed_on_time: int
    good_or_better_pct: float | None
    inadequate_pct: float | None


@dataclass(frozen=True)
class ThemeRevisit:
    """A theme looked at before: the month it was last looked at, and that month at a glance."""

    last_month: Month
    then: Headline


@dataclass(frozen=True)
class MonthPoint:
    """One month of the twelve-month trend."""

    month: Month
    headline: Headline


@dataclass(frozen=True)
class TeamRow:
    """One team's completed audits by final overall grade."""

    service: str
    team: str
    audits: int
    grades: dict[str, int]
    good_or_better_pct: float | None
    inadequate_pct: float | None


@dataclass(frozen=True)
class ModerationStats:
    """How many audits were moderated and how often the panel agreed the overall grade."""

    selected: int
    decided: int
    agreed: int
    agreement_rate: float | None
    changes: list[tuple[str, str, int]]
    undecided: int = 0  # still in moderation: the panel or an assistant director has yet to decide


@dataclass(frozen=True)
class FamilyStats:
    """What came of the calls with children and families, with their redacted words."""

    attempted: int
    spoke: int
    declined: int
    unreachable: int
    not_appropriate: int
    interpreter_used: int
    quotes: list[str]


@dataclass(frozen=True)
class ActionStats:
    """The month's audit actions: raised, completed in time, overdue, and how many reached senior managers."""

    raised: int
    completed_within_timescale: int
    overdue_by_band: dict[str, int]
    # Actions, not messages or steps: each counts once however many rungs of the ladder it climbed.
    escalated_to_senior: int


@dataclass(frozen=True)
class LateResponse:
    """An Immediate Response answered after its deadline: by reference and case id only, no free text."""

    reference: str
    case_id: str
    raised_at: datetime
    answered_at: datetime


@dataclass(frozen=True)
class ResponseStats:
    """The month's Immediate Responses, each in one of four categories that add up to the number raised."""

    raised: int
    same_day: int
    within_24h: int  # within the deadline, but not the day it was raised
    late: int
    outstanding: int
    late_responses: list[LateResponse]


@dataclass(frozen=True)
class ObservationStats:
    """The month's observations of practice and the annual coverage of practitioners and first-line managers."""

    assigned: int
    done: int
    coverage_pct: float | None
    due: int


@dataclass(frozen=True)
class LoopRow:
    """Where an earlier month's actions stand now."""

    month: Month
    theme: str | None
    actions_raised: int
    actions_open: int
    actions_signed_off: int
    # Done and waiting for the line manager's sign-off: neither open nor signed off.
    actions_awaiting_sign_off: int = 0


@dataclass(frozen=True)
class FlagRow:
    """One trend flag, for the restricted annex only."""

    kind: str
    subject: str
    detail: str
    follow_up: str = "Not yet followed up"  # what follows, by whom and when, once recorded from the flag's link


@dataclass(frozen=True)
class ReportData:
    """Everything the monthly report shows, as plain values."""

    month: Month
    month_label: str
    generated_on: date  # the real date the report was produced, whatever the clock of its figures
    provisional: bool
    theme: str | None
    notes_markdown: str | None
    headline: Headline
    previous: Headline | None
    trend: list[MonthPoint]
    domains: list[str]
    grade_labels: list[str]
    domain_distribution: dict[str, dict[str, int]]
    teams: list[TeamRow]
    moderation: ModerationStats
    family: FamilyStats
    good_practice: list[str]
    actions: ActionStats
    responses: ResponseStats
    observations: ObservationStats
    closing_the_loop: list[LoopRow]
    restricted_flags: list[FlagRow]
    grades_csv: list[dict[str, str]]
    actions_csv: list[dict[str, str]]
    empty: bool
    revisit: ThemeRevisit | None = None
    as_at: date | None = None  # the figures' "today": the context's clock, a simulated one with `--now`
    # The QA manager's executive summary, replacing the one drafted from the figures, and who wrote it.
    summary_markdown: str | None = None
    summary_by: str | None = None
    # Which grade labels the "good or better" and "inadequate" shares count, so a share is hidden with its cells.
    good_or_better_labels: tuple[str, ...] = ()
    worst_label: str | None = None


@dataclass(frozen=True)
class _AuditRow:
    """One of the month's audits, as loaded once for every section."""

    audit_id: int
    reference: str
    child_id: str
    kind: str
    status: AuditStatus
    due_date: date
    team: str
    service: str
    submitted_at: datetime | None
    overall: str | None  # final overall grade; None until a form is submitted
    moderated: bool

    @property
    def completed(self) -> bool:
        """Say whether a form has been submitted."""
        return self.overall is not None


def percentage(part: int, whole: int) -> float | None:
    """Return part of whole as a percentage rounded to one decimal place, or None when whole is 0."""
    return None if whole == 0 else round(100 * part / whole, 1)


def overdue_band(working_days: int) -> str | None:
    """Return the overdue band of an action this many working days overdue, or None when it is not overdue."""
    if working_days <= 0:
        return None
    if working_days <= 5:
        return BAND_1_5
    return BAND_6_10 if working_days <= 10 else BAND_OVER_10


def _headline(rows: Sequence[_AuditRow], ctx: AppContext) -> Headline:
    framework = ctx.settings.framework
    good = set(framework.good_or_better)
    worst = _worst(ctx)
    live = [r for r in rows if r.status not in CLOSED]
    done = [r for r in live if r.completed]
    on_time = sum(r.submitted_at <= ctx.timescales.due_at(r.due_date) for r in done)
    return Headline(allocated=len(live), completed=len(done), completed_on_time=on_time,
                    good_or_better_pct=percentage(sum(r.overall in good for r in done), len(done)),
                    inadequate_pct=percentage(sum(r.overall == worst for r in done), len(done)))


def _worst(ctx: AppContext) -> str:
    return ctx.settings.framework.worst_grade


def _grade_label(ctx: AppContext, slug: str | None) -> str:
    if slug is None:
        return ""
    return ctx.settings.framework.grades.get(slug, slug)


def _monthly_cycles(session: Session, first: str, last: str) -> dict[str, AuditCycle]:
    return {c.month: c for c in session.scalars(
        select(AuditCycle).where(AuditCycle.kind == CycleKind.MONTHLY, AuditCycle.month >= first,
                                 AuditCycle.month <= last))}


def _audit_rows(session: Session, cycle_ids: Iterable[int]) -> dict[int, list[_AuditRow]]:
    """Load the audits of some cycles with team, service, submission and moderation, grouped by cycle id.

    The team and service are the audit's own (people.cases), so a child moved on is counted where it was audited.
    """
    ids = list(cycle_ids)
    if not ids:
        return {}
    stmt = (
        select(Audit.cycle_id, Audit.id, Audit.reference, Audit.child_id, Audit.kind, Audit.status, Audit.due_date,
               Team.name, Service.name, Submission.submitted_at, Submission.overall, Moderation.moderated_overall,
               Moderation.decided_at)
        .join(Team, Audit.team_id == Team.id)
        .join(Service, Audit.service_id == Service.id)
        .outerjoin(Submission, Submission.audit_id == Audit.id)
        .outerjoin(Moderation, Moderation.audit_id == Audit.id)
        .where(Audit.cycle_id.in_(ids))
        .order_by(Audit.cycle_id, Audit.id)
    )
    grouped: dict[int, list[_AuditRow]] = defaultdict(list)
    for (cycle_id, audit_id, ref, child_id, kind, status, due, team, service, submitted_at, overall, moderated,
         decided_at) in session.execute(stmt):
        decided = decided_at is not None
        grouped[cycle_id].append(_AuditRow(
            audit_id=audit_id, reference=ref, child_id=child_id, kind=kind.value.replace("_", " "), status=status,
            due_date=due, team=team, service=service, submitted_at=submitted_at,
            overall=final_overall(overall, moderated, decided) if overall is not None else None,
            moderated=decided))
    return grouped


def _trend(ctx: AppContext, month: Month, cycles: dict[str, AuditCycle],
           rows: dict[int, list[_AuditRow]]) -> list[MonthPoint]:
    months = [month]
    while len(months) < TREND_MONTHS:
        months.append(months[-1].previous())
    points = []
    for m in reversed(months):
        cycle = cycles.get(str(m))
        points.append(MonthPoint(month=str(m), headline=_headline(rows.get(cycle.id, []) if cycle else [], ctx)))
    first = next((i for i, p in enumerate(points) if p.headline.completed), len(points))
    return points[first:]


def _domain_distribution(session: Session, ctx: AppContext, cycle: AuditCycle | None) -> dict[str, dict[str, int]]:
    framework = ctx.settings.framework
    counts = {label: dict.fromkeys(framework.grades.values(), 0) for label in framework.domains.values()}
    if cycle is None:
        return counts
    stmt = (
        select(DomainGrade.domain, DomainGrade.grade, func.count(DomainGrade.id))
        .join(Submission, DomainGrade.submission_id == Submission.id)
        .join(Audit, Submission.audit_id == Audit.id)
        .where(Audit.cycle_id == cycle.id, Audit.status.not_in(CLOSED))
        .group_by(DomainGrade.domain, DomainGrade.grade)
    )
    for domain, grade, n in session.execute(stmt):
        # A slug no longer configured cannot be placed in the framework's table, so it is left out.
        if domain in framework.domains and grade in framework.grades:
            counts[framework.domains[domain]][framework.grades[grade]] += n
    return counts


def _domain_grades(session: Session, cycle: AuditCycle | None) -> dict[int, dict[str, str]]:
    if cycle is None:
        return {}
    grades: dict[int, dict[str, str]] = defaultdict(dict)
    for audit_id, domain, grade in session.execute(
        select(Submission.audit_id, DomainGrade.domain, DomainGrade.grade)
        .join(DomainGrade, DomainGrade.submission_id == Submission.id)
        .join(Audit, Submission.audit_id == Audit.id)
        .where(Audit.cycle_id == cycle.id, Audit.status.not_in(CLOSED))
    ):
        grades[audit_id][domain] = grade
    return grades


def _teams(ctx: AppContext, rows: Sequence[_AuditRow]) -> list[TeamRow]:
    framework = ctx.settings.framework
    good, worst = set(framework.good_or_better), _worst(ctx)
    by_team: dict[tuple[str, str], list[_AuditRow]] = defaultdict(list)
    for row in rows:
        if row.status not in CLOSED:
            by_team[(row.service, row.team)].append(row)
    result = []
    for (service, team), mine in sorted(by_team.items()):
        done = [r for r in mine if r.completed]
        tally = Counter(r.overall for r in done)
        result.append(TeamRow(
            service=service, team=team, audits=len(done),
            grades={label: tally.get(slug, 0) for slug, label in framework.grades.items()},
            good_or_better_pct=percentage(sum(r.overall in good for r in done), len(done)),
            inadequate_pct=percentage(tally.get(worst, 0), len(done))))
    return result


def _moderation(session: Session, ctx: AppContext, cycle: AuditCycle | None) -> ModerationStats:
    if cycle is None:
        return ModerationStats(selected=0, decided=0, agreed=0, agreement_rate=None, changes=[])
    rows = session.execute(
        select(Moderation.original_overall, Moderation.moderated_overall, Moderation.decided_at, Audit.status)
        .join(Audit, Moderation.audit_id == Audit.id)
        .where(Audit.cycle_id == cycle.id, Audit.status.not_in(CLOSED))).all()
    decided = [(original, moderated) for original, moderated, at, _ in rows if at is not None]
    agreed = sum(original == moderated for original, moderated in decided)
    moves = Counter((original, moderated) for original, moderated in decided if original != moderated)
    order = {slug: i for i, slug in enumerate(ctx.settings.framework.grades)}
    changes = [(_grade_label(ctx, a), _grade_label(ctx, b), n) for (a, b), n in
               sorted(moves.items(), key=lambda item: (order.get(item[0][0], len(order)),
                                                       order.get(item[0][1], len(order)), item[0]))]
    return ModerationStats(selected=len(rows), decided=len(decided), agreed=agreed,
                           agreement_rate=percentage(agreed, len(decided)), changes=changes,
                           undecided=sum(status == AuditStatus.IN_MODERATION for *_, status in rows))


def _relation_label(relation: str) -> str:
    return relation.strip().replace("_", " ").capitalize()


def _family(session: Session, cycle: AuditCycle | None) -> FamilyStats:
    if cycle is None:
        return FamilyStats(attempted=0, spoke=0, declined=0, unreachable=0, not_appropriate=0, interpreter_used=0,
                           quotes=[])
    rows = session.execute(
        select(Audit.child_id, FamilyFeedback.relation, FamilyFeedback.outcome, FamilyFeedback.interpreter_used,
               FamilyFeedback.summary)
        .join(Submission, FamilyFeedback.submission_id == Submission.id)
        .join(Audit, Submission.audit_id == Audit.id)
        .where(Audit.cycle_id == cycle.id, Audit.status.not_in(CLOSED))
        .order_by(Audit.id, FamilyFeedback.id)).all()
    outcomes = Counter(outcome for _, _, outcome, _, _ in rows)
    spoken = [(child_id, relation, summary.strip()) for child_id, relation, outcome, _, summary in rows
              if outcome == "spoke" and summary and summary.strip()]
    redactors = redactors_for(session, {child_id for child_id, _, _ in spoken})
    quotes = [redactors[child_id](f"{_relation_label(relation)}: {summary}") for child_id, relation, summary in spoken]
    # Every recorded contact is an attempted one (the form records the outcome of each attempt).
    return FamilyStats(attempted=len(rows), spoke=outcomes["spoke"], declined=outcomes["declined"],
                       unreachable=outcomes["unreachable"], not_appropriate=outcomes["not_appropriate"],
                       interpreter_used=sum(bool(used) for _, _, _, used, _ in rows), quotes=quotes)


def _good_practice(session: Session, month: Month, rows: Sequence[_AuditRow]) -> list[str]:
    mine = {r.audit_id: r.child_id for r in rows if r.status not in CLOSED}
    summaries = [m for m in approved_summaries(session, month=str(month))
                 if m.audit_id in mine and m.summary and m.summary.strip()]
    redactors = redactors_for(session, {mine[m.audit_id] for m in summaries})
    return [redactors[mine[m.audit_id]](m.summary.strip()) for m in summaries]


def _month_actions(session: Session, cycle: AuditCycle | None) -> list:
    if cycle is None:
        return []
    return session.execute(
        select(Action.reference, Audit.reference, Audit.child_id, Staff.name, Action.due_date, Action.status,
               Action.escalation_step, Action.completed_at, Action.signed_off_at)
        .join(Audit, Action.audit_id == Audit.id)
        .join(Staff, Action.owner_id == Staff.id)
        .where(Audit.cycle_id == cycle.id)
        .order_by(Action.id)).all()


def _completed_at(status: ActionStatus, completed_at: datetime | None,
                  signed_off_at: datetime | None) -> datetime | None:
    if status == ActionStatus.OPEN:
        return None
    return completed_at or signed_off_at


def _actions(ctx: AppContext, actions: Sequence) -> ActionStats:
    bands = dict.fromkeys(OVERDUE_BANDS, 0)
    within = 0
    late: dict[date, int] = {}  # working days overdue by due date: a month's actions share few due dates
    for _, _, _, _, due, status, _, completed_at, signed_off_at in actions:
        done_at = _completed_at(status, completed_at, signed_off_at)
        if done_at is not None:
            within += done_at <= ctx.timescales.due_at(due)
        elif status == ActionStatus.OPEN:
            if due not in late:
                late[due] = working_days_overdue(ctx, due=due)
            band = overdue_band(late[due])
            if band is not None:
                bands[band] += 1
    return ActionStats(raised=len(actions), completed_within_timescale=within, overdue_by_band=bands,
                       escalated_to_senior=sum(reached_senior(ctx, row[6]) for row in actions))


def _actions_csv(ctx: AppContext, actions: Sequence) -> list[dict[str, str]]:
    result = []
    for ref, audit_ref, child_id, owner, due, status, step, completed_at, signed_off_at in actions:
        done_at = _completed_at(status, completed_at, signed_off_at)
        result.append({
            "action": ref, "audit": audit_ref, "case_id": child_id, "owner": owner, "due": due.isoformat(),
            "status": status.value.replace("_", " "), "escalation_step": str(step),
            "completed": ctx.timescales.today(done_at).isoformat() if done_at else "",
        })
    return result


def response_category(*, responded_at: datetime | None, deadline_at: datetime, same_day: bool | None) -> str:
    """Place an Immediate Response in one of the report's four categories: open, late, same day or within 24h."""
    if responded_at is None:
        return OPEN
    if responded_at > deadline_at:
        return LATE
    return SAME_DAY if same_day else WITHIN_24H


def _responses(session: Session, ctx: AppContext, cycle: AuditCycle | None) -> ResponseStats:
    if cycle is None:
        return ResponseStats(raised=0, same_day=0, within_24h=0, late=0, outstanding=0, late_responses=[])
    rows = session.execute(
        select(ImmediateResponse.reference, Audit.child_id, ImmediateResponse.raised_at,
               ImmediateResponse.deadline_at, ImmediateResponse.responded_at, ImmediateResponse.same_day)
        .join(Audit, ImmediateResponse.audit_id == Audit.id)
        .where(Audit.cycle_id == cycle.id)
        .order_by(ImmediateResponse.raised_at, ImmediateResponse.id)).all()
    categories: Counter[str] = Counter()
    late = []
    for reference, case_id, raised_at, deadline_at, responded_at, same_day in rows:
        category = response_category(responded_at=responded_at, deadline_at=deadline_at, same_day=same_day)
        categories[category] += 1
        if category == LATE:
            # Local times: the report is read by people, in the council's zone.
            late.append(LateResponse(reference=reference, case_id=case_id, raised_at=raised_at.astimezone(ctx.tz),
                                     answered_at=responded_at.astimezone(ctx.tz)))
    return ResponseStats(raised=len(rows), same_day=categories[SAME_DAY], within_24h=categories[WITHIN_24H],
                         late=categories[LATE], outstanding=categories[OPEN], late_responses=late)


def _observations(session: Session, ctx: AppContext, month: Month) -> ObservationStats:
    assigned, done = session.execute(
        select(func.count(Observation.id),
               func.sum(case((Observation.status == ObservationStatus.DONE, 1), else_=0)))
        .where(Observation.month == str(month))).one()
    rows = coverage(session, ctx)
    due = sum(r.due for r in rows)
    return ObservationStats(assigned=assigned, done=int(done or 0),
                            coverage_pct=percentage(len(rows) - due, len(rows)), due=due)


def _closing_the_loop(session: Session, month: Month) -> list[LoopRow]:
    cycles = list(session.execute(
        select(AuditCycle.id, AuditCycle.month, AuditCycle.theme)
        .where(AuditCycle.kind == CycleKind.MONTHLY, AuditCycle.month < str(month))
        .order_by(AuditCycle.month.desc()).limit(LOOP_MONTHS)))
    if not cycles:
        return []
    counts: dict[int, Counter] = defaultdict(Counter)
    for cycle_id, status, n in session.execute(
        select(Audit.cycle_id, Action.status, func.count(Action.id))
        .join(Audit, Action.audit_id == Audit.id)
        .where(Audit.cycle_id.in_([c.id for c in cycles]))
        .group_by(Audit.cycle_id, Action.status)
    ):
        counts[cycle_id][status] += n
    redact = Redactor.for_caseload(session)
    return [LoopRow(month=m, theme=redact.optional(theme), actions_raised=sum(counts[cid].values()),
                    actions_open=counts[cid][ActionStatus.OPEN],
                    actions_signed_off=counts[cid][ActionStatus.SIGNED_OFF],
                    actions_awaiting_sign_off=counts[cid][ActionStatus.DONE])
            for cid, m, theme in cycles]


def _flags(session: Session, ctx: AppContext, month: Month) -> list[FlagRow]:
    flags = list(session.scalars(select(TrendFlag).where(TrendFlag.month == str(month))
                                 .order_by(TrendFlag.kind, TrendFlag.subject_ref)))
    staff_ids = {f.subject_ref for f in flags if f.kind == PRACTITIONER}
    names = {sid: name for sid, name in session.execute(
        select(Staff.id, Staff.name).where(Staff.id.in_(sorted(staff_ids))))} if staff_ids else {}
    return [FlagRow(kind=FLAG_LABELS.get(f.kind, f.kind.replace("_", " ").capitalize()),
                    subject=names.get(f.subject_ref, f.subject_ref) if f.kind == PRACTITIONER else f.subject_ref,
                    detail=f.detail, follow_up=follow_up_label(f, ctx.tz))
            for f in flags]


def _grades_csv(ctx: AppContext, rows: Sequence[_AuditRow],
                domain_grades: dict[int, dict[str, str]]) -> list[dict[str, str]]:
    framework = ctx.settings.framework
    result = []
    for row in rows:
        if row.status in CLOSED or not row.completed:
            continue
        mine = domain_grades.get(row.audit_id, {})
        result.append({
            "audit": row.reference, "case_id": row.child_id, "team": row.team, "service": row.service,
            "kind": row.kind, "overall": _grade_label(ctx, row.overall),
            **{label: _grade_label(ctx, mine.get(slug)) for slug, label in framework.domains.items()},
            "moderated": YES if row.moderated else NO,
            "on_time": YES if row.submitted_at <= ctx.timescales.due_at(row.due_date) else NO,
        })
    return result


def _revisit(session: Session, ctx: AppContext, cycle: AuditCycle | None) -> ThemeRevisit | None:
    last = last_time(session, cycle) if cycle is not None else None
    if last is None:
        return None
    return ThemeRevisit(last_month=last.month, then=_headline(_audit_rows(session, [last.id]).get(last.id, []), ctx))


def build_report_data(session: Session, ctx: AppContext, *, month: Month) -> ReportData:
    """Build the numbers of a month's QA report from the database; a month with no cycle is an empty report."""
    framework = ctx.settings.framework
    first = month
    for _ in range(TREND_MONTHS - 1):
        first = first.previous()
    cycles = _monthly_cycles(session, str(first), str(month))
    cycle = cycles.get(str(month))
    rows_by_cycle = _audit_rows(session, [c.id for c in cycles.values()])
    rows = rows_by_cycle.get(cycle.id, []) if cycle else []
    previous_cycle = cycles.get(str(month.previous()))
    headline = _headline(rows, ctx)
    actions = _month_actions(session, cycle)
    return ReportData(
        month=str(month),
        month_label=f"{month.first_day:%B %Y}",
        generated_on=ctx.timescales.today(wall_clock()),
        as_at=ctx.timescales.today(ctx.now),
        provisional=cycle is not None and not is_closed(ctx, cycle),
        # The theme and the QA manager's findings are about the month, not one child: the whole caseload.
        theme=Redactor.for_caseload(session).optional(cycle.theme) if cycle else None,
        notes_markdown=Redactor.for_caseload(session).optional(cycle.report_notes) if cycle else None,
        headline=headline,
        previous=_headline(rows_by_cycle.get(previous_cycle.id, []), ctx) if previous_cycle else None,
        trend=_trend(ctx, month, cycles, rows_by_cycle),
        domains=list(framework.domains.values()),
        grade_labels=list(framework.grades.values()),
        domain_distribution=_domain_distribution(session, ctx, cycle),
        teams=_teams(ctx, rows),
        moderation=_moderation(session, ctx, cycle),
        family=_family(session, cycle),
        good_practice=_good_practice(session, month, rows),
        actions=_actions(ctx, actions),
        responses=_responses(session, ctx, cycle),
        observations=_observations(session, ctx, month),
        closing_the_loop=_closing_the_loop(session, month),
        restricted_flags=_flags(session, ctx, month),
        grades_csv=_grades_csv(ctx, rows, _domain_grades(session, cycle)),
        actions_csv=_actions_csv(ctx, actions),
        empty=headline.allocated == 0,
        revisit=_revisit(session, ctx, cycle),
        summary_markdown=Redactor.for_caseload(session).optional(cycle.report_summary) if cycle else None,
        summary_by=_staff_name(session, cycle.report_summary_by) if cycle else None,
        good_or_better_labels=tuple(framework.grades[g] for g in framework.good_or_better if g in framework.grades),
        worst_label=framework.grades.get(framework.worst_grade),
    )


def _staff_name(session: Session, staff_id: str | None) -> str | None:
    if staff_id is None:
        return None
    return session.scalar(select(Staff.name).where(Staff.id == staff_id)) or staff_id
