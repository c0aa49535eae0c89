"""Compose the observation messages: the observer's assignment, their reminder, the QA manager's summary."""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from auditcycle.core.clock import Month
from auditcycle.core.text import Redacted
from auditcycle.notifications.chasing import timing_label
from auditcycle.notifications.message import Composed
from auditcycle.notifications.notices import day_label, month_label
from auditcycle.notifications.render import render


@dataclass(frozen=True)
class ObservationItem:
    """One observation as an observer's message lists it: staff names only, never a child's."""

    reference: str
    practitioner_name: str
    kind: str
    team: str | None
    theme: Redacted | None
    asye: bool
    record_url: str | None = None  # the observer's own link to record it done


@dataclass(frozen=True)
class AssignmentRow:
    """One assignment as the QA manager's summary lists it."""

    reference: str
    observer_name: str
    practitioner_name: str
    kind: str
    asye: bool


@dataclass(frozen=True)
class DueRow:
    """Someone due their annual observation, as the QA manager's summary lists them."""

    name: str
    kind: str
    team: str | None
    last_observed_label: str
    assigned_reference: str | None


def last_observed_label(day: date | None) -> str:
    """Say when someone was last observed: 'never observed' or 'last observed Tuesday 3 March 2026'."""
    return "never observed" if day is None else f"last observed {day_label(day)}"


def compose_assignment(*, recipient_name: str, month: Month, due: date, items: Sequence[ObservationItem]) -> Composed:
    """Compose one observer's digest of the observations assigned to them for the month."""
    return render("observation_assignment", recipient_name=recipient_name, month_label=month_label(month),
                  due_label=day_label(due), items=list(items))


def compose_reminder(*, recipient_name: str, month: Month, due: date, items: Sequence[ObservationItem],
                     working_days: int, overdue: bool) -> Composed:
    """Compose one observer's reminder of the month's observations not yet recorded done."""
    return render("observation_reminder", recipient_name=recipient_name, month_label=month_label(month),
                  due_label=day_label(due), items=list(items), overdue=overdue,
                  timing=timing_label(working_days=working_days, overdue=overdue))


def compose_summary(*, recipient_name: str, month: Month, due: date, theme: Redacted | None,
                    assignments: Sequence[AssignmentRow], due_rows: Sequence[DueRow],
                    auditors_without: Sequence[str], newly_qualified_without: Sequence[str],
                    interval_months: int) -> Composed:
    """Compose the QA manager's monthly summary: the assignments and who is due their annual observation."""
    return render("observation_summary", recipient_name=recipient_name, month_label=month_label(month),
                  due_label=day_label(due), theme=theme, assignments=list(assignments), due_rows=list(due_rows),
                  auditors_without=list(auditors_without), newly_qualified_without=list(newly_qualified_without),
                  interval_months=interval_months)
