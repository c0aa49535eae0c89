"""The replay of an audit month: when each phase runs, and what people decide between the runs.

The schedule is the production calendar: the sample on the sampling day of the month before, chasing,
escalation and observations on working days, Immediate Response checks around the clock, moderation
after the due date and at closure, and the report on its working day of the next month. The decisions
people make in between (forms with grades and actions, late forms, disputes, findings on supervision
gaps, answers to Immediate Responses, moderation outcomes, sign-offs, observations, approvals) are
synthetic, drawn from `random.Random` so one seed always replays the same month.

Nothing here imports the flows: the caller passes the function that runs a phase, so data still flows
one way and the plan can be tested on its own. Every decision is skipped when its record already
exists, so replaying a month a second time adds nothing and sends nothing twice.
"""
import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.actions.ladder import mark_done, sign_off
from auditcycle.core.clock import Month, localize
from auditcycle.core.context import AppContext, build_context
from auditcycle.core.errors import UserError
from auditcycle.core.timescales import Timescales
from auditcycle.immediate_responses.lifecycle import respond
from auditcycle.immediate_responses.supervision_gaps import decide_gap, suspected_gaps
from auditcycle.learning.culture import approve
from auditcycle.models import (
    Action,
    Audit,
    Dispute,
    ImmediateResponse,
    MakeADifference,
    Moderation,
    Observation,
    OutboxMessage,
    Staff,
    Submission,
    SupervisionGap,
)
from auditcycle.models.enums import (
    ActionStatus,
    AuditStatus,
    CycleKind,
    MessageStatus,
    ModerationStatus,
    ObservationStatus,
    ObservationType,
    ResponseStatus,
    ResponseTrigger,
    Role,
    SupervisionGapStatus,
)
from auditcycle.moderation.panel import agree_moderation, awaiting_director, record_moderation
from auditcycle.notices.review import approve_list
from auditcycle.observations.assignment import record_observation
from auditcycle.people.directory import service_managers_for
from auditcycle.runs.phases import Kind, get_phase, phases_of
from auditcycle.runs.schedule import report_day
from auditcycle.runs.schedule import sampling_day as scheduled_sampling_day
from auditcycle.sampling.cycle import monthly_cycle
from auditcycle.sampling.requests import Asked, store_request
from auditcycle.storage.db import session_scope
from auditcycle.storage.records import get_audit
from auditcycle.submissions.submit import dispute, submit

# Mostly requires improvement or good, some inadequate, a few outstanding (best grade first).
GRADE_WEIGHTS = (0.07, 0.36, 0.42, 0.15)
LATE_SHARE = 0.15
ACTION_COUNTS, ACTION_COUNT_WEIGHTS = (0, 1, 2), (1, 5, 4)
ACTION_DONE_SHARE = 0.85
OBSERVED_BY_MID_MONTH, OBSERVED_BY_MONTH_END = 0.45, 0.85
RELATIONSHIPS = ("mother", "father", "carer", "grandmother")
OUTCOMES, OUTCOME_WEIGHTS = ("spoke", "declined", "unreachable"), (6, 1, 2)
LIST_APPROVED_HOUR = 10  # the QA manager approves the drawn list at 10:00 on the sampling day
GAP_CONFIRMED_SHARE = 0.6  # of the supervision gaps the records show, how many the auditor confirms


@dataclass(frozen=True)
class Texts:
    """Everything the replay types into a free-text field, so a test can plant what staff might write."""

    themes: tuple[str, ...] = (
        "The voice of the child", "Management oversight and supervision", "Planning that makes a difference",
        "Working with fathers", "Chronologies and history", "Transitions to adulthood")
    actions: tuple[str, ...] = (
        "Update the chronology with the events of the last six months",
        "Record the child's wishes and feelings in their own words",
        "Make the plan SMART: named owners and dates for each outcome",
        "Hold and record a supervision discussion of this case",
        "Share the updated assessment with the family and the IRO")
    strengths: tuple[str, ...] = (
        "Warm, child-centred recording; the child's lived experience is clear.",
        "Good multi-agency working, with partners' views recorded.",
        "Visits are regular and purposeful, and the plan is reviewed on time.")
    feedback: tuple[str, ...] = (
        "A reflective conversation; the practitioner is keen to update the chronology.",
        "The practitioner knows the family well and described the direct work in detail.")
    family_summary: str = "Felt listened to."
    ir_reasons: tuple[str, str] = ("Recent bruising reported by school, not yet followed up",
                                   "No plan for a child who has been missing from home twice this month")
    ir_answer: str = "Strategy discussion held; a safety plan is in place."
    gap_confirmed: str = "No supervision on the file or elsewhere; the team manager agrees."
    gap_dismissed: str = "Supervision is recorded on the team's own log; the import was behind."
    supervision_answer: str = "Supervision booked for this week with the team manager."
    dispute_note: str = "The grade does not reflect the direct work done with the child."
    moderation_changed: str = "Changed: the record supports a different grade."
    moderation_agreed: str = "Agreed: the grades are supported by the record."
    observation_note: str = "Observed a home visit: warm, child-led practice."
    done_note: str = "Done and recorded on the file."
    sign_off_note: str = "Checked on the file: complete, and the quality is good."


DEMO_TEXTS = Texts()


# ---- The calendar of one audit month -----------------------------------------------------------------


def sampling_day(timescales: Timescales, month: Month) -> date:
    """Return the day an audit month's sample is drawn: the production schedule's, in the month before."""
    return scheduled_sampling_day(timescales, month.previous())


@dataclass(frozen=True)
class MonthCalendar:
    """The days an audit month's replay turns on."""

    month: Month
    sampling: date
    first: date
    due: date
    closure: date
    closure_run: date
    report: date

    @property
    def start(self) -> date:
        """Return the first day replayed."""
        return self.sampling

    @property
    def end(self) -> date:
        """Return the last day replayed: the report day, or the day moderation closes if that is later."""
        return max(self.report, self.closure_run)

    def days(self) -> int:
        """Return how many calendar days the replay covers."""
        return (self.end - self.start).days + 1


def month_calendar(ctx: AppContext, month: Month) -> MonthCalendar:
    """Work out the sampling day, due date, moderation closure and report day of an audit month."""
    ts = ctx.timescales
    due = ts.last_working_day(month)
    closes = ts.add_working_days(due, ctx.settings.framework.moderation_close_working_days)
    return MonthCalendar(month=month, sampling=sampling_day(ts, month), first=ts.first_working_day(month), due=due,
                         closure=closes, closure_run=ts.next_working_day(closes), report=report_day(ctx, month.next()))


# ---- The steps of the replay --------------------------------------------------------------------------

PHASE_STEPS = frozenset(p.name for p in phases_of(Kind.MONTHLY))


@dataclass(frozen=True, order=True)
class Step:
    """One thing that happens at one moment: a phase run, or a decision somebody makes."""

    at: datetime
    seq: int
    kind: str = field(compare=False)
    ref: str = field(compare=False, default="")
    only_if: str = field(compare=False, default="")  # a condition checked just before: skip if nothing can happen

    @property
    def is_phase(self) -> bool:
        """Say whether the step runs a phase through the engine."""
        return self.kind in PHASE_STEPS


@dataclass(frozen=True)
class ActionPlan:
    """An action a synthetic form raises, and when it is done and signed off (if it is)."""

    reference: str
    description: str
    due: date
    done_at: datetime | None
    signed_off_at: datetime | None


@dataclass(frozen=True)
class AuditPlan:
    """What the auditor submits for one audit, when, and what follows from it."""

    reference: str
    submit_at: datetime
    late: bool
    overall: str
    grades: dict[str, str]
    strengths: str
    feedback: str
    family: tuple[tuple[str, str], ...]
    family_summary: str
    actions: tuple[ActionPlan, ...]
    disputed_at: datetime | None = None
    immediate_response: str | None = None        # the concern raised by the form, if any
    answered_at: datetime | None = None          # when the service manager answers it
    escalates: bool = False                      # left past its deadline

    def form(self, owner_id: str) -> dict:
        """Return the audit form as submitted, with the key worker owning the actions."""
        return {
            "grades": dict(self.grades),
            "overall": self.overall,
            "strengths": self.strengths,
            "practitioner_feedback": self.feedback,
            "family_feedback": [{"relationship": who, "outcome": outcome, "interpreter_used": False,
                                 "summary": self.family_summary if outcome == "spoke" else ""}
                                for who, outcome in self.family],
            "actions": [{"description": a.description, "owner_id": owner_id, "due": a.due.isoformat()}
                        for a in self.actions],
            "immediate_response": {"reason": self.immediate_response} if self.immediate_response else None,
            "disagreement": self.disputed_at is not None,
        }


@dataclass(frozen=True)
class MonthPlan:
    """The synthetic decisions of a month, fixed by the seed and the audits drawn."""

    month: Month
    audits: tuple[AuditPlan, ...]

    @property
    def on_time(self) -> int:
        """Return how many forms are planned by the due date."""
        return sum(not a.late for a in self.audits)

    @property
    def late(self) -> int:
        """Return how many forms are planned after the due date."""
        return sum(a.late for a in self.audits)

    @property
    def actions(self) -> int:
        """Return how many actions the forms raise."""
        return sum(len(a.actions) for a in self.audits)


def _at(ts: Timescales, day: date, hour: int, minute: int = 0) -> datetime:
    return localize(datetime.combine(day, time(hour, minute)), ts.tz)


def _working_days(ts: Timescales, first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)
            if ts.is_working_day(first + timedelta(days=i))]


def _nudge_into_hours(ts: Timescales, moment: datetime) -> datetime:
    """Move a moment outside working hours to 09:30 on the next working day."""
    local = moment.astimezone(ts.tz)
    if ts.is_working_day(local.date()) and time(9) <= local.time() < time(17):
        return local
    day = local.date() if ts.is_working_day(local.date()) and local.time() < time(9) else ts.next_working_day(
        local.date())
    return _at(ts, day, 9, 30)


def plan_month(ctx: AppContext, calendar: MonthCalendar, references: list[str], *, seed: int,
               texts: Texts = DEMO_TEXTS) -> MonthPlan:
    """Draw the month's synthetic decisions for the audits drawn, the same for the same seed."""
    ts, framework = ctx.timescales, ctx.settings.framework
    rng = random.Random(f"{seed}:{calendar.month}")
    references = sorted(references)
    grades = list(framework.grades)
    weights = GRADE_WEIGHTS if len(grades) == len(GRADE_WEIGHTS) else [1] * len(grades)
    month_days = _working_days(ts, calendar.first, calendar.due)
    early_days = [d for d in month_days if d <= ts.add_working_days(calendar.due, -2)] or month_days
    after_due = [ts.add_working_days(calendar.due, n) for n in range(1, 5)]

    late = {ref for ref in references if rng.random() < LATE_SHARE}
    if not late and len(references) >= 3:
        late.add(rng.choice(references))
    on_time = [ref for ref in references if ref not in late]
    # Two forms raise an Immediate Response (one answered the same day, one left to escalate);
    # one or two are disputed by the key worker.
    concerns = rng.sample(on_time, min(len(on_time), 2))
    others = [ref for ref in on_time if ref not in concerns] or on_time
    disputed = set(rng.sample(others, min(len(others), rng.randint(1, 2))))

    plans = []
    for ref in references:
        if ref in late:
            day = rng.choice(after_due)
        else:
            day = rng.choice(early_days if ref in concerns or ref in disputed else month_days)
        submit_at = _at(ts, day, 10) if ref in concerns else _at(ts, day, rng.randint(9, 15), rng.choice((0, 30)))
        overall = rng.choices(grades, weights=weights)[0]
        domain_grades = {d: _near(rng, grades, overall) for d in framework.domains}
        actions = tuple(_plan_action(ts, calendar, seed, ref, n, submit_at, rng, texts.actions)
                        for n in range(1, rng.choices(ACTION_COUNTS, weights=ACTION_COUNT_WEIGHTS)[0] + 1))
        family = tuple((rng.choice(RELATIONSHIPS), rng.choices(OUTCOMES, weights=OUTCOME_WEIGHTS)[0])
                       for _ in range(rng.randint(1, 2)))
        plan = AuditPlan(reference=ref, submit_at=submit_at, late=ref in late, overall=overall, grades=domain_grades,
                         strengths=rng.choice(texts.strengths), feedback=rng.choice(texts.feedback),
                         family=family, family_summary=texts.family_summary, actions=actions)
        if ref in disputed:
            plan = replace(plan, disputed_at=_at(ts, ts.next_working_day(day), 11))
        if ref in concerns:
            first = ref == concerns[0]
            deadline = ts.immediate_response_deadline(submit_at).astimezone(ts.tz)
            answered = submit_at + timedelta(hours=5) if first else _nudge_into_hours(ts, deadline + timedelta(hours=3))
            plan = replace(plan, immediate_response=texts.ir_reasons[0 if first else 1], answered_at=answered,
                            escalates=not first)
        plans.append(plan)
    return MonthPlan(month=str(calendar.month), audits=tuple(plans))


def _near(rng: random.Random, grades: list[str], overall: str) -> str:
    """Return a domain grade: the overall grade mostly, else a neighbouring one."""
    if rng.random() < 0.6:
        return overall
    index = grades.index(overall) + rng.choice((-1, 1))
    return grades[min(max(index, 0), len(grades) - 1)]


def _plan_action(ts: Timescales, calendar: MonthCalendar, seed: int, audit_ref: str, number: int,
                 submit_at: datetime, rng: random.Random, texts: tuple[str, ...]) -> ActionPlan:
    """Plan one action: due on a working day within the framework's days, done before then for most, signed off."""
    reference = f"{audit_ref}-ACT{number}"
    submitted = submit_at.astimezone(ts.tz).date()
    # A form with a due date on a weekend or bank holiday is refused, so the plan picks the working day before.
    due = ts.working_day_on_or_before(submitted + timedelta(days=rng.randint(7, 28)))
    own = random.Random(f"{seed}:{reference}")
    done_at = signed_off_at = None
    last = ts.add_working_days(calendar.end, -1)
    if own.random() < ACTION_DONE_SHARE:
        window = _working_days(ts, ts.next_working_day(submitted), min(due, last)) or [ts.next_working_day(submitted)]
        done_day = own.choice(window)
        done_at = _at(ts, done_day, 14)
        signed_off_at = _at(ts, min(ts.next_working_day(done_day), calendar.end), 10)
    return ActionPlan(reference=reference, description=rng.choice(texts), due=due, done_at=done_at,
                      signed_off_at=signed_off_at)


class Schedule:
    """The steps still to come, in clock order; a step may add more (the plan adds the decisions)."""

    def __init__(self) -> None:
        self._heap: list[Step] = []
        self._seq = itertools.count()

    def add(self, at: datetime, kind: str, ref: str = "", only_if: str = "") -> None:
        """Add a step at a moment; steps at the same moment keep the order they were added in."""
        heapq.heappush(self._heap, Step(at=at, seq=next(self._seq), kind=kind, ref=ref, only_if=only_if))

    def pop(self) -> Step | None:
        """Take the next step, or None when the replay is over."""
        return heapq.heappop(self._heap) if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)


def schedule_phases(ctx: AppContext, calendar: MonthCalendar) -> Schedule:
    """Lay out the month's phase runs and the fixed-time decisions, at the times the deployments use."""
    ts = ctx.timescales
    s = Schedule()
    def at(day: date, phase: str) -> datetime:
        return _at(ts, day, *get_phase(phase).cron_time(ctx.settings))

    # The draw on the sampling day at its deployment's time; the QA manager approves the list mid-morning,
    # and the notices and bookings follow at the next of their deployments' hourly checks.
    s.add(at(calendar.sampling, "sample"), "sample")
    s.add(_at(ts, calendar.sampling, LIST_APPROVED_HOUR), "approve-list")
    for phase in ("notify", "book"):
        s.add(_at(ts, calendar.sampling, LIST_APPROVED_HOUR, get_phase(phase).cron_time(ctx.settings)[1]), phase)
    # The family calls wait for the key workers' advice on reaching the family (booking/family_advice.py):
    # the booking's hourly check after the wait books them.
    wait = ctx.settings.framework.family_advice_wait_working_days
    s.add(_at(ts, ts.add_working_days(calendar.sampling, wait), LIST_APPROVED_HOUR + 1,
              get_phase("book").cron_time(ctx.settings)[1]), "book")
    s.add(_at(ts, calendar.sampling, 8, 5), "plan")
    # Auditors check the supervision gaps the notices named, then service managers answer the confirmed ones.
    s.add(_at(ts, calendar.sampling, 11), "decide-supervision-gaps")
    s.add(_at(ts, calendar.sampling, 14), "answer-sampling-responses")
    # Every working day of the month: chase and escalate. Observations are assigned on the first working
    # day; their reminders can fall due only on the reminder days before the due date and on the due date.
    observe_days = {calendar.first, calendar.due, *(ts.add_working_days(calendar.due, -n)
                                                    for n in ctx.settings.framework.reminder_offsets_working_days)}
    for day in _working_days(ts, calendar.first, calendar.end):
        if day <= calendar.due:
            s.add(at(day, "chase"), "chase")
        elif day <= calendar.closure_run:
            s.add(at(day, "chase"), "chase", only_if="open-audits")
        s.add(at(day, "escalate"), "escalate", only_if="open-actions" if day > calendar.due else "")
        if day in observe_days:
            s.add(at(day, "observe"), "observe")
    # Immediate Response checks at two of the deployment's hourly times a day (enough for a 24-hour
    # deadline, and a replay of every hour would be slow), weekends included, whenever one is open.
    day = calendar.sampling
    _, past_the_hour = get_phase("responses").cron_time(ctx.settings)
    while day <= calendar.end:
        s.add(_at(ts, day, 9, past_the_hour), "responses", only_if="open-responses")
        s.add(_at(ts, day, 17, past_the_hour), "responses", only_if="open-responses")
        day += timedelta(days=1)
    # Observations recorded by their observers, mid-month and near the end.
    s.add(_at(ts, ts.add_working_days(calendar.first, 9), 15), "observations", ref="mid-month")
    s.add(_at(ts, ts.add_working_days(calendar.due, -3), 15), "observations", ref="month-end")
    # Moderation: selection after the due date, a re-run for late forms, the outcomes, closure.
    second = ts.add_working_days(calendar.due, 5)
    s.add(at(ts.next_working_day(calendar.due), "moderate"), "moderate")
    s.add(_at(ts, ts.add_working_days(calendar.due, 3), 11), "moderation-outcomes")
    s.add(at(second, "moderate"), "moderate")
    s.add(_at(ts, second, 9, 30), "approve-summaries")
    s.add(_at(ts, ts.add_working_days(calendar.due, 8), 11), "moderation-outcomes")
    s.add(at(calendar.closure_run, "moderate"), "moderate")
    s.add(_at(ts, calendar.closure_run, 9, 30), "approve-summaries")
    # The report on its day; if moderation closes later, the files are rewritten final (mailing nobody).
    s.add(at(calendar.report, "report"), "report")
    if calendar.report <= calendar.closure_run:
        s.add(at(calendar.closure_run, "report"), "report")
    return s


def schedule_decisions(ctx: AppContext, schedule: Schedule, plan: MonthPlan) -> None:
    """Add the plan's decisions, with Immediate Response checks just past each reminder time and deadline."""
    ts, framework = ctx.timescales, ctx.settings.framework
    for audit in plan.audits:
        schedule.add(audit.submit_at, "submit", audit.reference)
        if audit.disputed_at:
            schedule.add(audit.disputed_at, "dispute", audit.reference)
        if audit.immediate_response:
            deadline = ts.immediate_response_deadline(audit.submit_at).astimezone(ts.tz)
            remind = deadline - timedelta(hours=framework.immediate_response_reminder_hours)
            schedule.add(remind + timedelta(minutes=5), "responses", only_if="open-responses")
            schedule.add(deadline + timedelta(minutes=5), "responses", only_if="open-responses")
            schedule.add(audit.answered_at, "respond", audit.reference)
        for action in audit.actions:
            if action.done_at:
                schedule.add(action.done_at, "action-done", action.reference)
                schedule.add(action.signed_off_at, "action-sign-off", action.reference)


# ---- The synthetic decisions ---------------------------------------------------------------------------


def month_audits(session: Session, month: Month) -> list[Audit]:
    """List the month's audits that stand (not replaced or withdrawn), by reference."""
    cycle = monthly_cycle(session, Month.parse(month))
    if cycle is None:
        return []
    return list(session.scalars(
        select(Audit).where(Audit.cycle_id == cycle.id,
                            Audit.status.not_in((AuditStatus.REPLACED, AuditStatus.WITHDRAWN)))
        .order_by(Audit.reference)))


def _first_with_role(session: Session, role: Role) -> Staff | None:
    return session.scalar(select(Staff).where(Staff.role == role, Staff.active).order_by(Staff.id))


def submit_planned(session: Session, ctx: AppContext, plan: AuditPlan) -> bool:
    """Submit the planned form as the auditor, unless a form is already in; say whether one was stored."""
    audit = get_audit(session, plan.reference)
    if audit.status not in (AuditStatus.ALLOCATED, AuditStatus.NOTIFIED, AuditStatus.BOOKED):
        return False
    auditor = audit.auditor_id or _first_with_role(session, Role.QA_MANAGER).id
    submit(session, ctx, reference=plan.reference, data=plan.form(audit.child.key_worker_id), by=auditor,
           source="simulated form")
    return True


def dispute_planned(session: Session, ctx: AppContext, plan: AuditPlan, texts: Texts = DEMO_TEXTS) -> bool:
    """Record the key worker's disagreement with the grade, once, while moderation is still open."""

    audit = get_audit(session, plan.reference)
    if audit.status not in (AuditStatus.SUBMITTED, AuditStatus.IN_MODERATION):
        return False
    if session.scalar(select(Dispute.id).where(Dispute.audit_id == audit.id)) is not None:
        return False
    dispute(session, ctx, reference=plan.reference, by=audit.child.key_worker_id,
            note=texts.dispute_note)
    return True


def _answer(session: Session, ctx: AppContext, ir: ImmediateResponse, note: str) -> None:
    manager = service_managers_for(session, ir.audit.child)[0]
    respond(session, ctx, reference=ir.reference, by=manager.id, note=note)


def answer_planned(session: Session, ctx: AppContext, plan: AuditPlan, texts: Texts = DEMO_TEXTS) -> int:
    """Answer the form's open Immediate Response as the service manager; return how many were answered."""
    audit = get_audit(session, plan.reference)
    open_ = session.scalars(select(ImmediateResponse).where(
        ImmediateResponse.audit_id == audit.id, ImmediateResponse.trigger == ResponseTrigger.SAFEGUARDING_CONCERN,
        ImmediateResponse.status == ResponseStatus.OPEN)).all()
    for ir in open_:
        _answer(session, ctx, ir, texts.ir_answer)
    return len(open_)


def approve_drawn_list(session: Session, ctx: AppContext, month: Month) -> int:
    """Approve the month's drawn list as its QA manager; 1 when recorded now, 0 if already approved."""
    cycle = monthly_cycle(session, month)
    manager = _first_with_role(session, Role.QA_MANAGER)
    if cycle is None or manager is None:
        return 0
    return int(approve_list(session, ctx, cycle=cycle, by=manager.id))


def decide_supervision_gaps(session: Session, ctx: AppContext, month: Month, *, seed: int,
                            texts: Texts = DEMO_TEXTS) -> int:
    """Confirm or dismiss, as each auditor, the month's undecided supervision gaps; return how many were decided."""
    audits = {a.id: a for a in month_audits(session, month)}
    decided = 0
    for audit_id, gap in sorted(suspected_gaps(session, list(audits)).items()):
        audit = audits[audit_id]
        confirm = random.Random(f"{seed}:{audit.reference}:gap").random() < GAP_CONFIRMED_SHARE
        decide_gap(session, ctx, reference=audit.reference, decision="confirm" if confirm else "dismiss",
                   reason=texts.gap_confirmed if confirm else texts.gap_dismissed,
                   by=audit.auditor_id or _first_with_role(session, Role.QA_MANAGER).id)
        decided += 1
    return decided


def answer_sampling_responses(session: Session, ctx: AppContext, month: Month, texts: Texts = DEMO_TEXTS) -> int:
    """Answer the supervision-gap Immediate Responses the auditors confirmed; return how many were answered."""
    ids = [a.id for a in month_audits(session, month)]
    open_ = session.scalars(select(ImmediateResponse).where(
        ImmediateResponse.audit_id.in_(ids), ImmediateResponse.trigger == ResponseTrigger.SUPERVISION_GAP,
        ImmediateResponse.status == ResponseStatus.OPEN).order_by(ImmediateResponse.reference)).all()
    for ir in open_:
        _answer(session, ctx, ir, texts.supervision_answer)
    return len(open_)


def record_outcomes(session: Session, ctx: AppContext, month: Month, texts: Texts = DEMO_TEXTS) -> int:
    """Record the panel's outcome for each audit in moderation (agreed, except one changed a month), and an
    assistant director's agreement of each good or better grade."""
    psw = _first_with_role(session, Role.PRINCIPAL_SOCIAL_WORKER)
    everything = month_audits(session, month)
    audits = [a for a in everything if a.status == AuditStatus.IN_MODERATION]
    if psw is None or not audits:
        return 0
    grades = list(ctx.settings.framework.grades)
    changed_already = session.scalar(select(func.count(Moderation.id)).where(
        Moderation.audit_id.in_([a.id for a in everything]), Moderation.status == ModerationStatus.CHANGED))
    disputed = set(session.scalars(select(Dispute.audit_id).where(Dispute.audit_id.in_([a.id for a in audits]))))
    to_change = None if changed_already else next((a for a in audits if a.id in disputed), audits[0])
    for audit in audits:
        submitted = session.scalar(select(Submission.overall).where(Submission.audit_id == audit.id))
        if audit is to_change:
            # A disputed grade is raised a step (the key worker was right); otherwise it is lowered.
            index = grades.index(submitted) + (-1 if audit.id in disputed else 1)
            grade = grades[min(max(index, 0), len(grades) - 1)]
            if grade == submitted:
                grade = grades[1] if submitted == grades[0] else grades[-2]
            domain = next(iter(ctx.settings.framework.domains))
            record_moderation(session, ctx, reference=audit.reference, by=psw.id, grade=grade,
                              domains={domain: grade}, note=texts.moderation_changed)
        else:
            record_moderation(session, ctx, reference=audit.reference, by=psw.id, grade=submitted, domains={},
                              note=texts.moderation_agreed)
        moderation = session.scalar(select(Moderation).where(Moderation.audit_id == audit.id))
        if awaiting_director(ctx.settings.framework, moderation):
            director = moderation.assistant_director_id or _first_with_role(session, Role.ASSISTANT_DIRECTOR).id
            agree_moderation(session, ctx, reference=audit.reference, by=director)
    return len(audits)


def approve_summaries(session: Session, ctx: AppContext, month: Month) -> int:
    """Approve the month's draft Make a Difference summaries as the QA manager; return how many."""
    qa = _first_with_role(session, Role.QA_MANAGER) or _first_with_role(session, Role.PRINCIPAL_SOCIAL_WORKER)
    ids = [a.id for a in month_audits(session, month)]
    drafts = session.scalars(select(MakeADifference).where(
        MakeADifference.audit_id.in_(ids), MakeADifference.status == "draft").order_by(MakeADifference.reference)).all()
    for mad in drafts:
        approve(session, ctx, reference=mad.reference, by=qa.id)
    return len(drafts)


def record_observations(session: Session, ctx: AppContext, month: Month, *, seed: int, wave: str,
                        texts: Texts = DEMO_TEXTS) -> int:
    """Record the month's observations this wave's observers have done; return how many."""
    share = (0.0, OBSERVED_BY_MID_MONTH) if wave == "mid-month" else (OBSERVED_BY_MID_MONTH, OBSERVED_BY_MONTH_END)
    done = 0
    for observation in session.scalars(select(Observation).where(
            Observation.month == month, Observation.status == ObservationStatus.ASSIGNED).order_by(Observation.id)):
        if share[0] <= random.Random(f"{seed}:{observation.reference}").random() < share[1]:
            kind = random.Random(f"{seed}:{observation.reference}:type").choice(list(ObservationType))
            record_observation(session, ctx, reference=observation.reference, by=observation.observer_id,
                               kind=kind.value, note=texts.observation_note)
            done += 1
    return done


def complete_action(session: Session, ctx: AppContext, reference: str, texts: Texts = DEMO_TEXTS) -> bool:
    """Record an open action done, as its owner; say whether it was."""
    action = session.scalar(select(Action).where(Action.reference == reference))
    if action is None or action.status != ActionStatus.OPEN:
        return False
    mark_done(session, ctx, reference=reference, by=action.owner_id, note=texts.done_note)
    return True


def sign_off_action(session: Session, ctx: AppContext, reference: str, texts: Texts = DEMO_TEXTS) -> bool:
    """Sign off a done action as the owner's line manager (quality met); say whether it was."""
    action = session.scalar(select(Action).where(Action.reference == reference))
    if action is None or action.status != ActionStatus.DONE:
        return False
    by = action.owner.manager_id or _first_with_role(session, Role.QA_MANAGER).id
    sign_off(session, ctx, reference=reference, by=by, quality="met",
             note=texts.sign_off_note)
    return True


def nothing_to_do(session: Session, condition: str, month: Month) -> bool:
    """Say whether a conditional step would find nothing to act on, so it can be skipped."""
    if condition == "open-responses":
        # An undecided supervision gap is the phase's business too: it raises it once its deadline passes.
        return session.scalar(select(ImmediateResponse.id).where(
            ImmediateResponse.status == ResponseStatus.OPEN).limit(1)) is None and session.scalar(
            select(SupervisionGap.id).join(Audit, SupervisionGap.audit_id == Audit.id).where(
                SupervisionGap.status == SupervisionGapStatus.SUSPECTED,
                Audit.status.not_in((AuditStatus.REPLACED, AuditStatus.WITHDRAWN))).limit(1)) is None
    if condition == "open-audits":
        return not any(a.status in (AuditStatus.ALLOCATED, AuditStatus.NOTIFIED, AuditStatus.BOOKED)
                       for a in month_audits(session, month))
    if condition == "open-actions":
        return session.scalar(select(Action.id).where(Action.status == ActionStatus.OPEN).limit(1)) is None
    return False


# ---- The replay ----------------------------------------------------------------------------------------

PhaseRunner = Callable[..., dict]


@dataclass
class Replay:
    """What a replay did: its calendar and plan, the phase runs made, the decisions taken and the steps skipped."""

    calendar: MonthCalendar
    plan: MonthPlan | None = None
    phase_runs: Counter = field(default_factory=Counter)
    decisions: Counter = field(default_factory=Counter)
    skipped: int = 0
    sent: int = 0


def replay_month(month: Month, *, seed: int, run_phase: PhaseRunner, deliver: Callable[[], int],
                 on_step: Callable[[Step], None] | None = None, texts: Texts = DEMO_TEXTS) -> Replay:
    """Replay an audit month step by step on a moving clock: phases through `run_phase`, decisions in-process.

    `run_phase(phase, month=…, now=…, **options)` runs one phase and returns its summary; `deliver()` sends
    what a decision queued, after its commit, and returns how many messages went. `texts` is what the
    month's people type into its free-text fields.
    """
    ctx = build_context(f"{month.first_day.isoformat()}T12:00")
    calendar = month_calendar(ctx, month)
    schedule = schedule_phases(ctx, calendar)
    result = Replay(calendar=calendar)
    label = str(month)
    # The replay stands in for the scheduler, but only Prefect's scheduler may run a phase unnamed:
    # each replayed run is started by the authority's QA manager.
    with session_scope() as session:
        starter = _first_with_role(session, Role.QA_MANAGER)
        if starter is None:
            raise UserError("the replay needs a QA manager to start each phase: import or seed one first")
        by = starter.id
    while (step := schedule.pop()) is not None:
        if on_step is not None:
            on_step(step)
        now = step.at.isoformat()
        if step.only_if:
            with session_scope() as session:
                if nothing_to_do(session, step.only_if, label):
                    result.skipped += 1
                    continue
        if step.is_phase:
            summary = run_phase(step.kind, month=label, now=now, by=by, **_options(step, month, seed, by, texts))
            result.sent += (summary.get("delivery") or {}).get("sent", 0)
            result.phase_runs[step.kind] += 1
            continue
        step_ctx = build_context(now)
        if step.kind == "plan":
            with session_scope() as session:
                references = [a.reference for a in month_audits(session, label)]
            result.plan = plan_month(step_ctx, calendar, references, seed=seed, texts=texts)
            schedule_decisions(step_ctx, schedule, result.plan)
            continue
        with session_scope() as session:
            done = _decide(session, step_ctx, step, result.plan, label, seed, texts)
        if done:
            result.decisions[step.kind] += done
            result.sent += deliver()
    return result


def _options(step: Step, month: Month, seed: int, by: str, texts: Texts) -> dict:
    if step.kind != "sample":
        return {}
    # The month's theme is stored as a request, as `auditcycle run sample --theme` does, and passed by reference.
    with session_scope() as session:
        request = store_request(session, build_context(step.at.isoformat()), by=by,
                                asked=Asked(kind=CycleKind.MONTHLY, theme=texts.themes[month.month % len(texts.themes)]))
    return {"request": request, "seed": random.Random(f"{seed}:{month}:draw").randrange(2**31)}


def _decide(session: Session, ctx: AppContext, step: Step, plan: MonthPlan | None, month: Month, seed: int,
            texts: Texts) -> int:
    """Take one synthetic decision; return how many records it made (0 when they already exist)."""
    audit_plan = next((a for a in plan.audits if a.reference == step.ref), None) if plan else None
    if step.kind == "submit":
        return int(submit_planned(session, ctx, audit_plan))
    if step.kind == "dispute":
        return int(dispute_planned(session, ctx, audit_plan, texts))
    if step.kind == "respond":
        return answer_planned(session, ctx, audit_plan, texts)
    if step.kind == "approve-list":
        return approve_drawn_list(session, ctx, month)
    if step.kind == "decide-supervision-gaps":
        return decide_supervision_gaps(session, ctx, month, seed=seed, texts=texts)
    if step.kind == "answer-sampling-responses":
        return answer_sampling_responses(session, ctx, month, texts)
    if step.kind == "moderation-outcomes":
        return record_outcomes(session, ctx, month, texts)
    if step.kind == "approve-summaries":
        return approve_summaries(session, ctx, month)
    if step.kind == "observations":
        return record_observations(session, ctx, month, seed=seed, wave=step.ref, texts=texts)
    if step.kind == "action-done":
        return int(complete_action(session, ctx, step.ref, texts))
    if step.kind == "action-sign-off":
        return int(sign_off_action(session, ctx, step.ref, texts))
    raise ValueError(f"unknown step {step.kind!r}")


# ---- The month in figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthFigures:
    """The month at the end of its replay, as the summary table shows it."""

    month: Month
    audits_drawn: int
    finalised: int
    submitted_on_time: int
    submitted_late: int
    moderated: int
    moderation_changed: int
    responses_raised: int
    responses_escalated: int
    actions_raised: int
    actions_signed_off: int
    actions_escalated: int
    messages_sent: int
    messages_unsent: int
    report_folder: Path


def month_figures(session: Session, ctx: AppContext, month: Month) -> MonthFigures:
    """Count the month's audits, forms, moderation, Immediate Responses, actions and messages."""
    audits = month_audits(session, month)
    ids = [a.id for a in audits]
    due = {a.id: a.due_date for a in audits}
    submitted = session.execute(select(Submission.audit_id, Submission.submitted_at)
                                .where(Submission.audit_id.in_(ids))).all()
    late = sum(ctx.timescales.is_overdue(due[audit_id], at) for audit_id, at in submitted)
    moderations = session.scalars(select(Moderation.status).where(Moderation.audit_id.in_(ids))).all()
    responses = session.scalars(select(ImmediateResponse).where(ImmediateResponse.audit_id.in_(ids))).all()
    actions = session.scalars(select(Action).where(Action.audit_id.in_(ids))).all()
    messages = Counter(status for key, status in session.execute(
        select(OutboxMessage.idempotency_key, OutboxMessage.status)) if key.split(":")[1] == month)
    return MonthFigures(
        month=month, audits_drawn=len(audits),
        finalised=sum(a.status == AuditStatus.COMPLETED for a in audits),
        submitted_on_time=len(submitted) - late, submitted_late=late,
        moderated=sum(s != ModerationStatus.PENDING for s in moderations),
        moderation_changed=sum(s == ModerationStatus.CHANGED for s in moderations),
        responses_raised=len(responses), responses_escalated=sum(r.escalated_at is not None for r in responses),
        actions_raised=len(actions), actions_signed_off=sum(a.status == ActionStatus.SIGNED_OFF for a in actions),
        actions_escalated=sum(a.escalation_step > 0 for a in actions),
        messages_sent=messages[MessageStatus.SENT], messages_unsent=sum(messages.values()) - messages[MessageStatus.SENT],
        report_folder=ctx.settings.reports_dir / month)

