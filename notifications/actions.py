"""Compose the messages about audit actions: due soon, overdue on the ladder, done, and reopened."""
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


def _days(n: int) -> str:
    return f"{n} working {'day' if n == 1 else 'days'}"


def _context(facts: ActionFacts) -> dict:
    return {**facts.__dict__, "due_label": day_label(facts.due), "month_label": month_label(facts.month)}


def compose_action_reminder(facts: ActionFacts, *, recipient_name: str, working_days_left: int) -> Composed:
    """Compose the reminder, to the owner and their team manager, that an action falls due soon."""
    timing = f"due today by {day_end()}" if working_days_left <= 0 else f"{_days(working_days_left)} left"
    return render("action_reminder", recipient_name=recipient_name, timing=timing, **_context(facts))


def compose_action_overdue(facts: ActionFacts, *, recipient_name: str, capacity: str, working_days_overdue: int,
                           step: int, steps: int, max_days: int) -> Composed:
    """Compose one rung of the overdue ladder for one person; every rung is high importance."""
    composed = render("action_overdue", recipient_name=recipient_name, capacity=capacity,
                      overdue=_days(working_days_overdue), step=step, steps=steps, max_days=max_days,
                      **_context(facts))
    return replace(composed, importance="high")


def compose_action_done(facts: ActionFacts, *, recipient_name: str, completed_by_name: str, completed_label: str,
                        note: Redacted | None) -> Composed:
    """Compose the line manager's prompt that a completed action awaits their sign-off."""
    return render("action_done", recipient_name=recipient_name, completed_by_name=completed_by_name,
                  completed_label=completed_label, note=note, **_context(facts))


def compose_action_reopened(facts: ActionFacts, *, recipient_name: str, reviewer_name: str, reason: Redacted,
                            reopen_count: int) -> Composed:
    """Compose the owner's message that an action was reopened because its quality was not met, and why."""
    return render("action_reopened", recipient_name=recipient_name, reviewer_name=reviewer_name, reason=reason,
                  reopen_count=reopen_count, **_context(facts))
