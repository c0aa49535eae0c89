"""Audit actions after the form: reminded, escalated up the ladder, done, then signed off or reopened.

The `escalate` phase runs every working day over every open action. The rules, with the framework's
numbers from settings:

- **What is chased.** Only OPEN actions. The ladder is about actions not completed by their due
  date, so it stops once the owner (or their line manager) records the action done: a DONE action
  awaits the line manager's sign-off and is still listed as outstanding by `outstanding` and the
  tracker, but is not escalated. A sign-off with quality not met reopens it (OPEN again) with a new
  due date, and reminders and the ladder start again for that date.
- **When.** Only on working days: a run on a weekend or bank holiday sends nothing.
- **Before the due date.** At each offset n of `action_reminder_working_days` (2), from the day
  `add_working_days(due, -n)`, the owner and their team manager are reminded (step ``r<k>-due-in-n``).
  As in the chase phase, a run sends only the latest reminder whose day has come (a missed earlier
  one is superseded), and reminders stop once the action is overdue: the ladder takes over.
- **Overdue ladder.** An action is overdue once the working day has ended on its due day (`working_day_end`); it is then N working
  days overdue, counting the working days after the due date up to today. The ladder's steps, in
  order of `after_working_days`, are numbered from 1; every step whose threshold is reached and which
  is above `Action.escalation_step` is sent, lowest first (step ``r<k>-step-<i>``). So a run after
  missed runs sends every missed step once: none is skipped, because a skipped escalation is a lost
  safeguard. `escalation_step` then records the highest step reached, and each step is logged.
- **Who.** ``owner``: the owner. ``team_manager``: the owner's line manager, else the team managers of
  the owner's team. ``service_manager``: the service managers of the owner's service (or their team's
  service), else the assistant directors. ``assistant_director``: every active assistant director.
  ``qa_manager``: the QA managers. A step whose people resolve to nobody goes to the QA managers, so
  that it is never lost silently. Each person gets their own message.
- **Once each.** Every step key carries the reopen count ``r<k>``, so a reopened action is reminded,
  escalated and completed afresh; the outbox key (phase, month, action, step, recipient) makes each
  message go once, so a re-run the same day sends nothing.

Every message is written to the outbox with phase ``escalate`` in the caller's transaction.
"""
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from auditcycle.core.clock import Month, wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError, shown
from auditcycle.core.text import Redacted
from auditcycle.links.offer import offer_link
from auditcycle.models import Action, Audit, AuditCycle, Child, Staff
from auditcycle.models.enums import ActionStatus
from auditcycle.notifications.actions import (
    ActionFacts,
    OverdueItem,
    ReminderItem,
    compose_action_done,
    compose_action_reminders,
    compose_action_reopened,
    compose_actions_overdue,
)
from auditcycle.notifications.message import Composed
from auditcycle.notifications.outbox import MessageKey, enqueue, enqueue_digest, told
from auditcycle.people.directory import Directory, assistant_directors
from auditcycle.people.permissions import Subject, authorise, may
from auditcycle.privacy.redaction import Redactor
from auditcycle.storage.events import log_event

PHASE = "escalate"
QUALITIES = ("met", "not_met")
# A reopened action's default new due date; belongs in FrameworkSettings once settings can change.
CAPACITIES = {"owner": "the action's owner", "team_manager": "the owner's team manager",
              "service_manager": "service manager", "assistant_director": "assistant director",
              "qa_manager": "QA manager"}
_ACTION_PEOPLE = (
    selectinload(Action.owner).selectinload(Staff.manager), selectinload(Action.owner).selectinload(Staff.team),
    selectinload(Action.audit).selectinload(Audit.cycle),
    selectinload(Action.audit).selectinload(Audit.child).selectinload(Child.contacts),
)


@dataclass
class EscalationSummary:
    """What an escalate run did, in counts."""

    open_actions: int = 0
    reminders: int = 0
    steps: int = 0
    escalations: int = 0

    @property
    def messages(self) -> int:
        """Return the number of messages queued."""
        return self.reminders + self.escalations


def working_days_overdue(ctx: AppContext, *, due: date) -> int:
    """Count the working days something due on a day is overdue now: 0 until the working day has ended on the day."""
    ts = ctx.timescales
    if not ts.is_overdue(due, ctx.now):
        return 0
    return max(ts.working_days_between(due, ts.today(ctx.now)), 0)


def ladder(ctx: AppContext) -> list[tuple[int, int, list[str]]]:
    """Return the overdue ladder as (step number, working days overdue, who is told), lowest first."""
    steps = sorted(ctx.settings.framework.action_ladder, key=lambda s: s.after_working_days)
    return [(number, step.after_working_days, list(step.notify)) for number, step in enumerate(steps, start=1)]


SENIOR_ROLES = frozenset({"service_manager", "assistant_director"})


def senior_step(ctx: AppContext) -> int | None:
    """Return the number of the ladder's first step that tells a service manager or above, or None if none does."""
    return next((number for number, _, roles in ladder(ctx) if SENIOR_ROLES & set(roles)), None)


def reached_senior(ctx: AppContext, escalation_step: int) -> bool:
    """Say whether an action escalated to this step has reached a service manager or above."""
    first = senior_step(ctx)
    return first is not None and escalation_step >= first


def get_action(session: Session, reference: str) -> Action:
    """Get an action by reference, or say plainly that there is none."""
    action = session.scalar(select(Action).where(Action.reference == reference).options(*_ACTION_PEOPLE))
    if action is None:
        raise UserError(f"{shown(reference)}: no action has that reference (see `auditcycle list actions`)")
    return action


class _People:
    """Resolve the ladder's roles to people, loading the directory once per run."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._directory: Directory | None = None
        self._assistant_directors: list[Staff] | None = None

    @property
    def directory(self) -> Directory:
        """Return the team and service managers and QA managers, loaded on first use."""
        if self._directory is None:
            self._directory = Directory(self.session)
        return self._directory

    @property
    def assistant_directors(self) -> list[Staff]:
        """Return the active assistant directors, loaded on first use."""
        if self._assistant_directors is None:
            self._assistant_directors = assistant_directors(self.session)
        return self._assistant_directors

    def team_managers(self, owner: Staff) -> list[Staff]:
        """Return the owner's line manager, else the team managers of the owner's team."""
        manager = owner.manager
        if manager is not None and manager.active and manager.id != owner.id:
            return [manager]
        return [s for s in self.directory.team_managers.get(owner.team_id, []) if s.id != owner.id]

    def service_managers(self, owner: Staff) -> list[Staff]:
        """Return the service managers of the owner's service, else the assistant directors."""
        service_id = owner.service_id or (owner.team.service_id if owner.team else None)
        return self.directory.service_managers.get(service_id, []) or self.assistant_directors

    def resolve(self, roles: list[str], owner: Staff) -> list[tuple[Staff, str]]:
        """Return each person the roles name, once, with the capacity they are told in."""
        found: dict[str, tuple[Staff, str]] = {}
        for role in roles:
            if role == "owner":
                people = [owner] if owner.active else []
            elif role == "team_manager":
                people = self.team_managers(owner)
            elif role == "service_manager":
                people = self.service_managers(owner)
            elif role == "assistant_director":
                people = self.assistant_directors
            else:
                people = self.directory.qa_managers
            for person in people:
                found.setdefault(person.id, (person, CAPACITIES[role]))
        if not found:
            # Nobody in post for these roles: tell the QA managers rather than lose the step.
            found = {p.id: (p, "QA manager, as nobody holds the role the ladder names")
                     for p in self.directory.qa_managers}
        return sorted(found.values(), key=lambda pair: pair[0].id)


def _facts(session: Session, action: Action) -> ActionFacts:
    audit = action.audit
    return ActionFacts(action_ref=action.reference, audit_ref=audit.reference, month=audit.cycle.month,
                       child_id=audit.child_id, description=Redactor.about(session, audit.child)(action.description),
                       owner_id=action.owner_id, owner_name=action.owner.name, due=action.due_date)


def _round(action: Action) -> str:
    return f"r{action.reopen_count}"


def _key(action: Action, step: str) -> MessageKey:
    """Return the key of one step of one action, under which it is told alone or as an item of a digest."""
    return MessageKey(PHASE, action.audit.cycle.month, action.reference, step)


def _queue(session: Session, ctx: AppContext, action: Action, *, step: str, person: Staff,
           message: Composed) -> bool:
    """Queue one message about an action to one person; say whether it was new."""
    return enqueue(session, ctx, _key(action, step), person, message) is not None


def _link(session: Session, ctx: AppContext, action: Action, key: MessageKey, person: Staff, *, purpose: str,
          deadline: date | None = None) -> str | None:
    """Return the person's link for an act on the action, made once per message, or None if they may not do it."""
    command = "action-done" if purpose == "action-done" else "action-sign-off"
    return offer_link(session, ctx, purpose=purpose, command=command, subject=Subject(owner=action.owner),
                      subject_ref=action.reference, person=person, key=key, deadline=deadline)


def _label(moment: datetime, ctx: AppContext) -> str:
    local = moment.astimezone(ctx.tz)
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}"


def escalate(session: Session, ctx: AppContext) -> EscalationSummary:
    """Queue today's reminders and every overdue-ladder step reached and not yet sent, for every open action."""
    summary = EscalationSummary()
    ts, framework = ctx.timescales, ctx.settings.framework
    today = ts.today(ctx.now)
    if not ts.is_working_day(today):
        return summary
    actions = list(session.scalars(select(Action).where(Action.status == ActionStatus.OPEN).order_by(Action.id)
                                   .options(*_ACTION_PEOPLE)))
    people = _People(session)
    steps = ladder(ctx)
    offsets = [n for n in framework.action_reminder_working_days if n >= 0]
    reminders: dict[str, tuple[Staff, list[tuple[MessageKey, ReminderItem]]]] = {}
    overdue: dict[str, tuple[Staff, list[tuple[MessageKey, OverdueItem]]]] = {}
    for action in actions:
        summary.open_actions += 1
        facts = _facts(session, action)
        late = working_days_overdue(ctx, due=action.due_date)
        if not ts.is_overdue(action.due_date, ctx.now):
            reached = [n for n in offsets if ts.add_working_days(action.due_date, -n) <= today]
            if not reached:
                continue
            key = _key(action, f"{_round(action)}-due-in-{min(reached)}")
            left = max(ts.working_days_between(today, action.due_date), 0)
            told_now = [person for person, _ in people.resolve(["owner", "team_manager"], action.owner)
                        if not told(session, key, person)]
            for person in told_now:
                url = _link(session, ctx, action, key, person, purpose="action-done", deadline=action.due_date)
                reminders.setdefault(person.id, (person, []))[1].append((key, ReminderItem(facts, left, url)))
            if told_now:
                log_event(session, ctx, subject_ref=action.reference, kind="action-reminded",
                          detail=Redacted.fixed(f"due {action.due_date.isoformat()}; {left} working days left"))
            continue
        for number, threshold, roles in steps:
            if late < threshold or number <= action.escalation_step:
                continue
            told_step = people.resolve(roles, action.owner)
            key = _key(action, f"{_round(action)}-step-{number}")
            for person, capacity in told_step:
                item = OverdueItem(facts, capacity=capacity, working_days_overdue=late, step=number, steps=len(steps),
                                   max_days=framework.action_max_days,
                                   done_url=_link(session, ctx, action, key, person, purpose="action-done"))
                overdue.setdefault(person.id, (person, []))[1].append((key, item))
            action.escalation_step = number
            summary.steps += 1
            log_event(session, ctx, subject_ref=action.reference, kind="action-escalated",
                      detail=Redacted.fixed(f"step {number} of {len(steps)}: {late} working days overdue; told "
                                            + ", ".join(sorted(p.id for p, _ in told_step))))
    # One message per person and kind a day, however many of their actions are due or overdue.
    for person, items in reminders.values():
        summary.reminders += enqueue_digest(
            session, ctx, MessageKey(PHASE, None, f"actions-due-{today.isoformat()}", "reminders"), person, items,
            lambda found, person=person: compose_action_reminders(recipient_name=person.name, items=found)) is not None
    for person, items in overdue.values():
        summary.escalations += enqueue_digest(
            session, ctx, MessageKey(PHASE, None, f"actions-overdue-{today.isoformat()}", "overdue"), person, items,
            lambda found, person=person: compose_actions_overdue(recipient_name=person.name, items=found)) is not None
    session.flush()
    return summary


def mark_done(session: Session, ctx: AppContext, *, reference: str, by: str, note: str | None = None) -> Action:
    """Record an open action as done and ask the owner's line manager to sign it off."""
    action = get_action(session, reference)
    ctx.refuse_before(action.created_at, f"{reference} was set")
    authorise(session, command="action-done", staff_id=by, subject=Subject(owner=action.owner))
    if action.status != ActionStatus.OPEN:
        state = "done and awaiting sign-off" if action.status == ActionStatus.DONE else "signed off"
        raise UserError(f"{reference} is already {state}; only an open action can be recorded as done")
    note = note.strip() if note and note.strip() else None
    redact = Redactor.about(session, action.audit.child)
    action.status = ActionStatus.DONE
    action.completed_at = ctx.now
    action.completed_by_id = by
    action.recorded_at = wall_clock()
    session.flush()
    log_event(session, ctx, subject_ref=action.reference, kind="action-done", actor_id=by, detail=redact(note))
    completed_by = session.get(Staff, by)
    facts = _facts(session, action)
    people = _People(session)
    # Only someone who may sign it off is asked to: a team manager who is not the owner's line manager
    # may not, so then the QA team is asked.
    managers = [m for m in people.team_managers(action.owner) if may(session, "action-sign-off", m, Subject(owner=action.owner))]
    step = f"{_round(action)}-done"
    for manager in managers or people.directory.qa_managers:
        url = _link(session, ctx, action, _key(action, step), manager, purpose="action-sign-off")
        message = compose_action_done(facts, recipient_name=manager.name, completed_by_name=completed_by.name,
                                      completed_label=_label(ctx.now, ctx), note=redact.optional(note),
                                      sign_off_url=url)
        _queue(session, ctx, action, step=step, person=manager, message=message)
    return action


def sign_off(session: Session, ctx: AppContext, *, reference: str, by: str, quality: str, note: str,
             new_due: date | None = None) -> Action:
    """Sign off a done action (quality met), or reopen it with a new due date (quality not met)."""
    action = get_action(session, reference)
    ctx.refuse_before(action.created_at, f"{reference} was set")
    authorise(session, command="action-sign-off", staff_id=by, subject=Subject(owner=action.owner))
    if action.status != ActionStatus.DONE:
        state = "still open: it must be recorded as done first" if action.status == ActionStatus.OPEN \
            else "already signed off"
        raise UserError(f"{reference} is {state}")
    if quality not in QUALITIES:
        raise UserError(f"--quality {quality!r}: choose one of {', '.join(QUALITIES)}")
    if not note or not note.strip():
        raise UserError("--note is required: say how the quality and compliance were judged")
    note = note.strip()
    if quality == "met":
        if new_due is not None:
            raise UserError("--due applies only when the quality is not met")
        action.status = ActionStatus.SIGNED_OFF
        action.signed_off_by_id = by
        action.signed_off_at = ctx.now
        action.quality = quality
        action.sign_off_note = note
        action.recorded_at = wall_clock()
        session.flush()
        log_event(session, ctx, subject_ref=action.reference, kind="action-signed-off", actor_id=by,
                  detail=Redactor.about(session, action.audit.child)(note))
        return action
    today = ctx.timescales.today(ctx.now)
    due = new_due or _default_due(ctx, today)
    if problem := ctx.timescales.action_due_problem(due, today, since="today"):
        raise UserError(f"--due {due}: the new due date {problem}")
    previous = action.due_date
    action.status = ActionStatus.OPEN
    action.reopen_count += 1
    action.escalation_step = 0
    action.due_date = due
    action.completed_at = None
    action.completed_by_id = None
    action.quality = quality
    action.sign_off_note = note
    action.recorded_at = wall_clock()
    session.flush()
    said = Redactor.about(session, action.audit.child)(note)
    log_event(session, ctx, subject_ref=action.reference, kind="action-reopened", actor_id=by,
              detail=Redacted.fixed(f"quality not met; due {previous.isoformat()} -> {due.isoformat()}: {said}"))
    reviewer = session.get(Staff, by)
    step = f"{_round(action)}-reopened"
    message = compose_action_reopened(_facts(session, action), recipient_name=action.owner.name, reviewer_name=reviewer.name,
                                      reason=said, reopen_count=action.reopen_count,
                                      done_url=_link(session, ctx, action, _key(action, step), action.owner,
                                                     purpose="action-done", deadline=due))
    _queue(session, ctx, action, step=step, person=action.owner, message=message)
    return action


def _default_due(ctx: AppContext, today: date) -> date:
    return min(ctx.timescales.add_working_days(today, ctx.settings.framework.action_reopen_working_days),
               ctx.timescales.latest_action_due(today))


def tracker_row(ctx: AppContext, action: Action, *, audit_ref: str, month: Month) -> dict:
    """Return an action as the central tracker lists it: status, age, working days overdue and ladder step."""
    today = ctx.timescales.today(ctx.now)
    return {
        "reference": action.reference,
        "status": action.status,
        "audit": audit_ref,
        "month": month,
        "owner_id": action.owner_id,
        "due_date": action.due_date,
        "age_days": max((today - ctx.timescales.today(action.created_at)).days, 0),
        # Completion stops the clock: only an open action counts as overdue.
        "working_days_overdue": working_days_overdue(ctx, due=action.due_date)
        if action.status == ActionStatus.OPEN else 0,
        "ladder_step": action.escalation_step,
        "reopen_count": action.reopen_count,
    }


def outstanding(session: Session, ctx: AppContext) -> list[dict]:
    """List every action not yet signed off, oldest first, as the QA manager's central tracker rows."""
    rows = session.execute(
        select(Action, Audit.reference.label("audit"), AuditCycle.month)
        .join(Audit, Action.audit_id == Audit.id).join(AuditCycle, Audit.cycle_id == AuditCycle.id)
        .where(Action.status != ActionStatus.SIGNED_OFF).order_by(Action.id))
    return [tracker_row(ctx, row.Action, audit_ref=row.audit, month=row.month) for row in rows]
