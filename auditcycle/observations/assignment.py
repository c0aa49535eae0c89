"""The `observe` phase: assign the month's observations of practice, remind observers, record them done.

The rules, with the framework's numbers from settings:

- **Who is observed.** Practitioners are the active key workers and first-line managers (team
  managers): the framework has every practitioner and every first-line manager observed at least
  once a year.
- **Due.** Someone is due their observation when no DONE observation of them was done within
  `observation_interval_months` (12) of today: none at all, or the latest done that many months ago
  or more (the same arithmetic as the supervision gap).
- **Auditors.** Once a month each active auditor is assigned one practitioner to observe: never
  themselves, nobody they line-manage and not their own line manager, and preferably someone outside
  their own team. Practitioners are taken longest-unobserved first (never observed first, ties by
  staff id), so everyone due is covered before anyone observed recently is observed again; the
  choice is a bipartite matching grown in that order, so a practitioner is passed over only when no
  auditor still free (after re-shuffling earlier pairs) may observe them.
- **Newly qualified workers (ASYE).** An NQ worker who is due is observed by their own team manager
  (their line manager if an active team manager, else their team's), with `asye` set; never by an
  auditor from the pool, and never given to one as a fallback. One with no team manager is listed
  for the QA manager instead. (The rule is the same interval as everyone else's: the settings carry
  no separate ASYE cadence.)
- **Open observations.** Someone with an observation still ASSIGNED from an earlier month is not
  assigned another: the reminders keep chasing the open one.
- **Once a month.** A month with any observations is assigned: a re-run assigns nothing. Messages
  are queued under fixed outbox keys (phase ``observe``, month, ``OBS-YYYY-MM``, step, recipient),
  so a re-run sends nothing twice.
- **Messages.** Each observer gets one digest of their month's observations (``assignment``); each
  QA manager gets one summary of the assignments and of who is due (``qa-summary``). Staff are
  named; no child is.
- **Reminders.** Each working day, every observer with open observations of the month (or an earlier
  one) gets one reminder per month of them, on the steps `chasing.step_due` picks for audits: the
  latest offset of `reminder_offsets_working_days` that has come, then one ``overdue-YYYY-MM-DD``
  each working day; each step once, missed runs caught up with the latest step only. They stop once
  the observation is recorded done.
"""
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.chasing.reminders import step_due
from auditcycle.core.clock import Month, add_months, wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError, shown
from auditcycle.links.tokens import issue_link
from auditcycle.models import Observation, Staff, Team
from auditcycle.models.enums import ObservationStatus, ObservationType, Role
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.notices import day_label
from auditcycle.notifications.observations import (
    AssignmentRow,
    DueRow,
    ObservationItem,
    compose_assignment,
    compose_reminder,
    compose_summary,
    last_observed_label,
)
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.observations.recommendations import answer_recommendations, open_recommendations
from auditcycle.people.directory import Directory
from auditcycle.people.permissions import Subject, authorise, may
from auditcycle.privacy.redaction import Redactor
from auditcycle.sampling.cycle import monthly_cycle

PHASE = "observe"
OBSERVED_ROLES = (Role.KEY_WORKER, Role.TEAM_MANAGER)
KIND_LABELS = {Role.KEY_WORKER: "practitioner", Role.TEAM_MANAGER: "first-line manager"}
# What was observed, in the framework's words: the choices an observer records.
OBSERVATION_TYPES = {
    ObservationType.FAMILY_MEETING: "A meeting with a family, such as a Child In Need meeting",
    ObservationType.HOME_VISIT: "A home visit",
    ObservationType.SUPERVISION: "A supervision session",
    ObservationType.MEETING_CHAIRED: "A meeting the practitioner chaired",
}
RECORD_LINK = "observe-done"  # the purpose of the link that opens an observation's record-it-done page


@dataclass
class ObservationSummary:
    """What an assignment run did, in counts."""

    assigned: int = 0
    asye: int = 0
    auditors_without: int = 0
    newly_qualified_without: int = 0
    due: int = 0
    messages: int = 0


@dataclass(frozen=True)
class CoverageRow:
    """One practitioner's or first-line manager's annual observation coverage."""

    staff_id: str
    name: str
    team: str | None
    kind: str
    newly_qualified: bool
    last_observed: date | None
    due: bool


@dataclass(frozen=True)
class Person:
    """Someone in the observation matching: their id, team and line manager."""

    staff_id: str
    team_id: int | None
    manager_id: str | None


def may_observe(observer: Person, practitioner: Person) -> bool:
    """Say whether an observer may observe a practitioner: not themselves, not their report, not their manager."""
    return (observer.staff_id != practitioner.staff_id and practitioner.manager_id != observer.staff_id
            and observer.manager_id != practitioner.staff_id)


def _same_team(observer: Person, practitioner: Person) -> bool:
    return observer.team_id is not None and observer.team_id == practitioner.team_id


def match_observers(observers: Sequence[Person], practitioners: Sequence[Person]) -> dict[str, str]:
    """Pair each observer with one practitioner, taking practitioners in the given priority order."""
    allowed = {p.staff_id: sorted((o for o in observers if may_observe(o, p)),
                                  key=lambda o: (_same_team(o, p), o.staff_id)) for p in practitioners}
    holding: dict[str, Person] = {}  # observer id -> practitioner

    def augment(practitioner: Person, seen: set[str]) -> bool:
        for observer in allowed[practitioner.staff_id]:
            if observer.staff_id in seen:
                continue
            seen.add(observer.staff_id)
            held = holding.get(observer.staff_id)
            if held is None or augment(held, seen):
                holding[observer.staff_id] = practitioner
                return True
        return False

    # Growing the matching in priority order keeps every earlier practitioner matched (an augmenting
    # path only moves them to another observer), so the matched set is the best the constraints allow.
    for practitioner in practitioners:
        if len(holding) == len(observers):
            break
        augment(practitioner, set())
    _prefer_other_teams(holding, {o.staff_id: o for o in observers})
    return {observer_id: p.staff_id for observer_id, p in sorted(holding.items())}


def _prefer_other_teams(holding: dict[str, Person], observers: dict[str, Person]) -> None:
    """Swap pairs while a swap lowers the number of observers watching their own team."""
    improved = True
    while improved:
        improved = False
        ids = sorted(holding)
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                oa, ob, pa, pb = observers[a], observers[b], holding[a], holding[b]
                before = _same_team(oa, pa) + _same_team(ob, pb)
                after = _same_team(oa, pb) + _same_team(ob, pa)
                if after < before and may_observe(oa, pb) and may_observe(ob, pa):
                    holding[a], holding[b] = pb, pa
                    improved = True


def _last_observed(session: Session, ctx: AppContext) -> dict[str, date]:
    rows = session.execute(select(Observation.practitioner_id, func.max(Observation.done_at))
                           .where(Observation.status == ObservationStatus.DONE)
                           .group_by(Observation.practitioner_id))
    return {pid: ctx.timescales.today(done_at) for pid, done_at in rows if done_at is not None}


def is_due(ctx: AppContext, last_observed: date | None) -> bool:
    """Say whether someone last observed on a day (or never) is due their observation today."""
    if last_observed is None:
        return True
    today = ctx.timescales.today(ctx.now)
    return today >= add_months(last_observed, ctx.settings.framework.observation_interval_months)


def _practitioners(session: Session) -> list[Staff]:
    return list(session.scalars(select(Staff).where(Staff.active, Staff.role.in_(OBSERVED_ROLES))
                                .order_by(Staff.id)))


def coverage(session: Session, ctx: AppContext) -> list[CoverageRow]:
    """List every active key worker's and team manager's last observation and due flag, longest-unobserved first."""
    last = _last_observed(session, ctx)
    teams = {t.id: t.name for t in session.scalars(select(Team))}
    rows = [CoverageRow(staff_id=s.id, name=s.name, team=teams.get(s.team_id), kind=KIND_LABELS[s.role],
                        newly_qualified=s.newly_qualified, last_observed=last.get(s.id),
                        due=is_due(ctx, last.get(s.id)))
            for s in _practitioners(session)]
    return sorted(rows, key=_priority)


def _priority(row: CoverageRow) -> tuple[date, str]:
    return row.last_observed or date.min, row.staff_id


def due_for_observation(session: Session, ctx: AppContext) -> list[str]:
    """List the staff ids due their observation, longest-unobserved first."""
    return [row.staff_id for row in coverage(session, ctx) if row.due]


def _month_ref(month: Month) -> str:
    return f"OBS-{month}"


def assign_observations(session: Session, ctx: AppContext, *, month: Month) -> ObservationSummary:
    """Assign the month's observations once, and queue each observer's digest and the QA managers' summary."""
    label = str(month)
    rows = coverage(session, ctx)
    summary = ObservationSummary(due=sum(row.due for row in rows))
    staff = {s.id: s for s in session.scalars(select(Staff))}
    directory = Directory(session)
    already = session.scalar(select(func.count(Observation.id)).where(Observation.month == label))
    auditors = [s for s in staff.values() if s.auditor and s.active]
    nq_without: list[Staff] = []
    if not already:
        cycle = monthly_cycle(session, month)
        theme = cycle.theme if cycle is not None else None
        still_open = set(session.scalars(select(Observation.practitioner_id).where(
            Observation.status == ObservationStatus.ASSIGNED, Observation.month != label)))
        recommended = open_recommendations(session)
        # A recommendation from an audit or a PDR comes first, whenever the practitioner was last observed.
        candidates = sorted((row for row in rows if row.staff_id not in still_open),
                            key=lambda row: row.staff_id not in recommended)
        pairs = match_observers(
            [_person(s) for s in sorted(auditors, key=lambda s: s.id)],
            [_person(staff[row.staff_id]) for row in candidates if not row.newly_qualified])
        asye: list[tuple[str, str]] = []
        for row in sorted((r for r in candidates if r.newly_qualified and r.due), key=lambda r: r.staff_id):
            manager = _team_manager(staff[row.staff_id], staff, directory)
            if manager is None:
                nq_without.append(staff[row.staff_id])
            else:
                asye.append((manager.id, row.staff_id))
        due_date = ctx.timescales.last_working_day(month)
        numbered = [(o, p, False) for o, p in pairs.items()] + [(o, p, True) for o, p in asye]
        for n, (observer_id, practitioner_id, is_asye) in enumerate(numbered, start=1):
            session.add(Observation(
                reference=f"{_month_ref(label)}-{n:03d}", month=label, observer_id=observer_id,
                practitioner_id=practitioner_id, theme=theme, asye=is_asye, due_date=due_date,
                status=ObservationStatus.ASSIGNED, assigned_at=ctx.now))
        session.flush()
        answer_recommendations(session, recommended, month=label)
        summary.assigned, summary.asye = len(pairs), len(asye)
    observations = list(session.scalars(select(Observation).where(Observation.month == label)
                                         .order_by(Observation.id)))
    if not observations and not nq_without:
        return summary
    observing = {o.observer_id for o in observations if not o.asye}
    auditors_without = [s for s in sorted(auditors, key=lambda s: s.id) if s.id not in observing]
    summary.auditors_without, summary.newly_qualified_without = len(auditors_without), len(nq_without)
    summary.messages = _queue_assignments(session, ctx, month=label, observations=observations, staff=staff)
    summary.messages += _queue_summary(session, ctx, month=month, observations=observations, staff=staff,
                                       rows=rows, qa_managers=directory.qa_managers,
                                       auditors_without=auditors_without, nq_without=nq_without)
    session.flush()
    return summary


def _person(staff: Staff) -> Person:
    return Person(staff_id=staff.id, team_id=staff.team_id, manager_id=staff.manager_id)


def _team_manager(worker: Staff, staff: dict[str, Staff], directory: Directory) -> Staff | None:
    """Return a newly qualified worker's own team manager: their line manager, else their team's."""
    line = staff.get(worker.manager_id) if worker.manager_id else None
    if line is not None and line.active and line.role == Role.TEAM_MANAGER:
        return line
    team = [m for m in directory.team_managers.get(worker.team_id, []) if m.id != worker.id]
    return team[0] if team else None


def record_link(session: Session, ctx: AppContext, observation: Observation, key: MessageKey,
                observer: Staff) -> str | None:
    """Return the observer's link to record an observation done, made once per message, or None if they may not."""
    if not observer.active or not may(session, "observe-done", observer, Subject(observer_id=observation.observer_id)):
        return None
    return issue_link(session, ctx, purpose=RECORD_LINK, subject_ref=observation.reference, staff=observer,
                      deadline=observation.due_date,
                      key=f"{key.for_recipient(Recipient.of(observer))}:{RECORD_LINK}:{observation.reference}")


def _item(session: Session, ctx: AppContext, observation: Observation, staff: dict[str, Staff],
          teams: dict[int, str], key: MessageKey) -> ObservationItem:
    practitioner = staff[observation.practitioner_id]
    # A theme is typed for the month, about no one child, so it is redacted for the whole caseload.
    return ObservationItem(
        reference=observation.reference, practitioner_name=practitioner.name,
        kind=KIND_LABELS.get(practitioner.role, practitioner.role.value.replace("_", " ")),
        team=teams.get(practitioner.team_id), theme=Redactor.for_caseload(session).optional(observation.theme), asye=observation.asye,
        record_url=record_link(session, ctx, observation, key, staff[observation.observer_id]))


def _teams(session: Session) -> dict[int, str]:
    return {t.id: t.name for t in session.scalars(select(Team))}


def _queue_assignments(session: Session, ctx: AppContext, *, month: Month, observations: Sequence[Observation],
                       staff: dict[str, Staff]) -> int:
    teams = _teams(session)
    by_observer: dict[str, list[Observation]] = defaultdict(list)
    for observation in observations:
        by_observer[observation.observer_id].append(observation)
    queued = 0
    for observer_id, mine in sorted(by_observer.items()):
        observer = staff[observer_id]
        key = MessageKey(PHASE, month, _month_ref(month), "assignment")
        message = compose_assignment(recipient_name=observer.name, month=month, due=mine[0].due_date,
                                     items=[_item(session, ctx, o, staff, teams, key) for o in mine])
        queued += enqueue(session, ctx, key, observer, message) is not None
    return queued


def _queue_summary(session: Session, ctx: AppContext, *, month: Month, observations: Sequence[Observation],
                   staff: dict[str, Staff], rows: Sequence[CoverageRow], qa_managers: Sequence[Staff],
                   auditors_without: Sequence[Staff], nq_without: Sequence[Staff]) -> int:
    label = str(month)
    assigned = {o.practitioner_id: o.reference for o in observations}
    assignments = [AssignmentRow(reference=o.reference, observer_name=staff[o.observer_id].name,
                                 practitioner_name=staff[o.practitioner_id].name,
                                 kind=KIND_LABELS.get(staff[o.practitioner_id].role, "practitioner"), asye=o.asye)
                   for o in observations]
    due_rows = [DueRow(name=row.name, kind=row.kind, team=row.team,
                       last_observed_label=last_observed_label(row.last_observed),
                       assigned_reference=assigned.get(row.staff_id)) for row in rows if row.due]
    due = observations[0].due_date if observations else ctx.timescales.last_working_day(month)
    theme = Redactor.for_caseload(session).optional(next((o.theme for o in observations if o.theme), None))
    queued = 0
    for manager in qa_managers:
        message = compose_summary(
            recipient_name=manager.name, month=label, due=due, theme=theme, assignments=assignments,
            due_rows=due_rows, auditors_without=[s.name for s in auditors_without],
            newly_qualified_without=[s.name for s in nq_without],
            interval_months=ctx.settings.framework.observation_interval_months)
        queued += enqueue(session, ctx, MessageKey(PHASE, label, _month_ref(label), "qa-summary"), manager, message) is not None
    return queued


def remind_observations(session: Session, ctx: AppContext, *, month: Month) -> int:
    """Queue today's reminders for open observations of the month and earlier months; return how many."""
    if not ctx.timescales.is_working_day(ctx.timescales.today(ctx.now)):
        return 0
    open_ = list(session.scalars(select(Observation).where(
        Observation.status == ObservationStatus.ASSIGNED, Observation.month <= str(month))
        .order_by(Observation.month, Observation.id)))
    if not open_:
        return 0
    staff = {s.id: s for s in session.scalars(select(Staff))}
    teams = _teams(session)
    groups: dict[tuple[str, str, date], list[Observation]] = defaultdict(list)
    for observation in open_:
        groups[(observation.month, observation.observer_id, observation.due_date)].append(observation)
    queued = 0
    for (month_label, observer_id, due), mine in sorted(groups.items()):
        step = step_due(ctx, due=due)
        observer = staff[observer_id]
        if step is None or not observer.active:
            continue
        key = MessageKey(PHASE, month_label, _month_ref(month_label), step.key)
        message = compose_reminder(recipient_name=observer.name, month=month_label, due=due,
                                   items=[_item(session, ctx, o, staff, teams, key) for o in mine],
                                   working_days=step.working_days, overdue=step.overdue)
        queued += enqueue(session, ctx, key, observer, message) is not None
    session.flush()
    return queued


def get_observation(session: Session, reference: str) -> Observation:
    """Get an observation by reference, or say that none has it."""
    observation = session.scalar(select(Observation).where(Observation.reference == reference.strip().upper()))
    if observation is None:
        raise UserError(f"{shown(reference)}: no observation has that reference (they look like OBS-2026-12-001)")
    return observation


def observation_type(value: str) -> ObservationType:
    """Read what was observed, or refuse naming the types there are."""
    try:
        return ObservationType(value.strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        raise UserError(f"--type {shown(value)}: what was observed is one of "
                        f"{', '.join(t.value for t in ObservationType)}") from None


def record_observation(session: Session, ctx: AppContext, *, reference: str, by: str, kind: str,
                       note: str) -> Observation:
    """Record an assigned observation done, with what was observed, by its observer or the QA team."""
    observed = observation_type(kind)
    observation = get_observation(session, reference)
    authorise(session, command="observe-done", staff_id=by, subject=Subject(observer_id=observation.observer_id))
    if observation.status != ObservationStatus.ASSIGNED:
        when = day_label(ctx.timescales.today(observation.done_at)) if observation.done_at else "an earlier day"
        raise UserError(f"{observation.reference} was already recorded done on {when} by "
                        f"{observation.done_by_id}: it cannot be recorded again")
    text = (note or "").strip()
    limit = ctx.settings.framework.text_max_chars
    if len(text) > limit:
        raise UserError(f"{observation.reference}: the note is {len(text)} characters; keep it to {limit}")
    observation.status = ObservationStatus.DONE
    observation.kind = observed
    observation.done_at = ctx.now
    observation.done_by_id = by
    observation.note = text or None
    observation.recorded_at = wall_clock()
    session.flush()
    return observation
