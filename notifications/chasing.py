"""Compose the chase reminders: an audit due or overdue, and a learning conversation not yet held."""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from auditcycle.core.clock import Month
from auditcycle.notifications.message import Composed
from auditcycle.notifications.notices import day_label, month_label
from auditcycle.notifications.render import day_end, render, subject_references


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


@dataclass(frozen=True)
class AuditReminderItem:
    """One audit in a person's reminder: where it stands, whose it is, and the form's link if the form is theirs."""

    facts: ReminderFacts
    auditor_name: str
    qa_copied: bool
    form_url: str | None = None


def compose_audit_reminders(*, recipient_name: str, items: Sequence[AuditReminderItem]) -> Composed:
    """Compose one person's reminder of the audits due or overdue today: the audit alone, or a digest naming each."""
    if len(items) == 1:
        [item] = items
        # Alone, a QA manager's copy is the auditor's own reminder, greeting the auditor.
        return compose_audit_reminder(item.facts, recipient_name=item.auditor_name, qa_copied=item.qa_copied,
                                      form_url=item.form_url)
    ordered = sorted(items, key=lambda i: (not i.facts.overdue, i.facts.due, i.facts.audit_ref))
    rows = [{**_context(i.facts), "auditor_name": i.auditor_name, "qa_copied": i.qa_copied, "form_url": i.form_url}
            for i in ordered]
    return render("audit_reminders", recipient_name=recipient_name, items=rows,
                  overdue=sum(i.facts.overdue for i in ordered), guidance_url=ordered[0].facts.guidance_url,
                  references=subject_references([i.facts.audit_ref for i in ordered]))



@dataclass(frozen=True)
class ConversationItem:
    """One audit whose learning conversation is not held, with the auditor and key worker it is between."""

    facts: ReminderFacts
    names: tuple[str, ...]


def compose_conversation_reminders(*, recipient_name: str, items: Sequence[ConversationItem]) -> Composed:
    """Compose one person's reminder of the learning conversations not yet held: alone, or a digest naming each."""
    if len(items) == 1:
        [item] = items
        return compose_conversation_reminder(item.facts, recipient_names=item.names)
    ordered = sorted(items, key=lambda i: (not i.facts.overdue, i.facts.due, i.facts.audit_ref))
    rows = [{**_context(i.facts), "between": " and ".join(n for n in i.names if n)} for i in ordered]
    return render("conversation_reminders", recipient_name=recipient_name, items=rows,
                  overdue=sum(i.facts.overdue for i in ordered), guidance_url=ordered[0].facts.guidance_url,
                  references=subject_references([i.facts.audit_ref for i in ordered]))
