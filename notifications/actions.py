"""Compose the messages about audit actions: due soon, overdue on the ladder, done, and reopened."""
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from auditcycle.core.clock import Month
from auditcycle.core.text import Redacted
from auditcycle.notifications.message import Composed
from auditcycle.notifications.notices import day_label, month_label
from auditcycle.notifications.render import day_end, render


@dataclass(frozen=True)
class ActionFacts:
    """What every action message says: references, the case id and a description already redacted."""

    action_ref: str
    audit_ref: str
    month: Month
    child_id: str
    description: Redacted
    owner_id: str
    owner_name: str
    due: date


@dataclass(frozen=True)
class ReminderItem:
    """One action a reminder names, with the working days left before it falls due."""

    facts: ActionFacts
    working_days_left: int
    done_url: str | None = None  # the recipient's link to record it done, when they may


@dataclass(frozen=True)
class OverdueItem:
    """One rung of the overdue ladder for one action, as one person is told of it."""

    facts: ActionFacts
    capacity: str
    working_days_overdue: int
    step: int
    steps: int
    max_days: int
    done_url: str | None = None  # the recipient's link to record it done, when they may


def _days(n: int) -> str:
    return f"{n} working {'day' if n == 1 else 'days'}"


def _context(facts: ActionFacts) -> dict:
    return {**facts.__dict__, "due_label": day_label(facts.due), "month_label": month_label(facts.month)}


def _timing(working_days_left: int) -> str:
    return f"due today by {day_end()}" if working_days_left <= 0 else f"{_days(working_days_left)} left"


def compose_action_reminders(*, recipient_name: str, items: Sequence[ReminderItem]) -> Composed:
    """Compose one person's reminder of the actions falling due soon: the action alone, or a digest naming each."""
    if len(items) == 1:
        [item] = items
        return compose_action_reminder(item.facts, recipient_name=recipient_name,
                                       working_days_left=item.working_days_left, done_url=item.done_url)
    rows = [{**_context(i.facts), "timing": _timing(i.working_days_left), "done_url": i.done_url}
            for i in sorted(items, key=lambda i: (i.facts.due, i.facts.action_ref))]
    return render("action_reminders", recipient_name=recipient_name, items=rows)


def compose_actions_overdue(*, recipient_name: str, items: Sequence[OverdueItem]) -> Composed:
    """Compose one person's rungs of the overdue ladder: the rung alone, or a digest naming each; high importance."""
    if len(items) == 1:
        [item] = items
        return compose_action_overdue(item.facts, recipient_name=recipient_name, capacity=item.capacity,
                                      working_days_overdue=item.working_days_overdue, step=item.step,
                                      steps=item.steps, max_days=item.max_days, done_url=item.done_url)
    rows = [{**_context(i.facts), "capacity": i.capacity, "overdue": _days(i.working_days_overdue), "step": i.step,
             "steps": i.steps, "done_url": i.done_url} for i in sorted(items, key=lambda i: (i.facts.due, i.facts.action_ref, i.step))]
    composed = render("actions_overdue", recipient_name=recipient_name, items=rows, max_days=items[0].max_days)
    return replace(composed, importance="high")


def compose_action_reminder(facts: ActionFacts, *, recipient_name: str, working_days_left: int,
                            done_url: str | None = None) -> Composed:
    """Compose the reminder, to the owner and their team manager, that an action falls due soon."""
    return render("action_reminder", recipient_name=recipient_name, timing=_timing(working_days_left),
                  done_url=done_url, **_context(facts))


def compose_action_overdue(facts: ActionFacts, *, recipient_name: str, capacity: str, working_days_overdue: int,
                           step: int, steps: int, max_days: int, done_url: str | None = None) -> Composed:
    """Compose one rung of the overdue ladder for one person; every rung is high importance."""
    composed = render("action_overdue", recipient_name=recipient_name, capacity=capacity,
                      overdue=_days(working_days_overdue), step=step, steps=steps, max_days=max_days,
                      done_url=done_url, **_context(facts))
    return replace(composed, importance="high")


def compose_action_done(facts: ActionFacts, *, recipient_name: str, completed_by_name: str, completed_label: str,
                        note: Redacted | None, sign_off_url: str) -> Composed:
    """Compose the line manager's prompt, with their link, that a completed action awaits their sign-off."""
    return render("action_done", recipient_name=recipient_name, completed_by_name=completed_by_name,
                  completed_label=completed_label, note=note, sign_off_url=sign_off_url, **_context(facts))


def compose_action_reopened(facts: ActionFacts, *, recipient_name: str, reviewer_name: str, reason: Redacted,
                            reopen_count: int, done_url: str) -> Composed:
    """Compose the owner's message, with their link, that an action was reopened because its quality was not met."""
    return render("action_reopened", recipient_name=recipient_name, reviewer_name=reviewer_name, reason=reason,
                  reopen_count=reopen_count, done_url=done_url, **_context(facts))
