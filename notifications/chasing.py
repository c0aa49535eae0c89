"""Compose the chase reminders: an audit due or overdue, and a learning conversation not yet held."""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from auditcycle.core.clock import Month
from auditcycle.notifications.message import Composed
from auditcycle.notifications.notices import day_label, month_label
from auditcycle.notifications.render import day_end, render


@dataclass(frozen=True)
class ReminderFacts:
    """What a reminder says about one audit: references, the due date and where it stands."""

    audit_ref: str
    child_id: str
    child_initials: str
    month: Month
    due: date
    # Working days left before the due date, or (when overdue) working days since it.
    working_days: int
    overdue: bool
    guidance_url: str


def timing_label(*, working_days: int, overdue: bool) -> str:
    """Say how the audit stands: '5 working days left', 'due today', '3 working days overdue'."""
    if overdue:
        if working_days <= 0:
            return f"overdue since {day_end()} today"
        return f"{working_days} working {'day' if working_days == 1 else 'days'} overdue"
    if working_days <= 0:
        return f"due today by {day_end()}"
    return f"{working_days} working {'day' if working_days == 1 else 'days'} left"


def _context(facts: ReminderFacts) -> dict:
    return {
        "audit_ref": facts.audit_ref, "child_id": facts.child_id, "child_initials": facts.child_initials,
        "month_label": month_label(facts.month), "due_label": day_label(facts.due), "overdue": facts.overdue,
        "timing": timing_label(working_days=facts.working_days, overdue=facts.overdue),
        "guidance_url": facts.guidance_url,
    }


def compose_audit_reminder(facts: ReminderFacts, *, recipient_name: str, qa_copied: bool = False,
                           form_url: str | None = None) -> Composed:
    """Compose the auditor's reminder that an audit form is due or overdue; the QA copy is the same, without the form's link."""
    return render("audit_reminder", recipient_name=recipient_name, qa_copied=qa_copied, form_url=form_url,
                  **_context(facts))


def compose_conversation_reminder(facts: ReminderFacts, *, recipient_names: Sequence[str]) -> Composed:
    """Compose the reminder, to the auditor and key worker alike, that the learning conversation is not booked."""
    names = [n for n in recipient_names if n]
    greeting = " and ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + " and " + names[-1]
    return render("conversation_reminder", recipient_name=greeting or "colleague", **_context(facts))
