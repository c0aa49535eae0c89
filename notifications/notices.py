"""Compose the notices of an audit month: the digest to people involved, the auditor's allocation."""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from auditcycle.core.clock import Month
from auditcycle.core.text import Redacted
from auditcycle.notifications.message import Composed
from auditcycle.notifications.render import render


@dataclass(frozen=True)
class GapNote:
    """What the records show of a sampled child's supervision, and what the auditor must do about it."""

    shown: str          # e.g. "no supervision since 22 May 2026"
    decide_by_label: str
    decide_url: str | None = None  # the auditor's link to confirm or dismiss it


@dataclass(frozen=True)
class NoticeItem:
    """One audit as a notice lists it: references and roles only."""

    audit_ref: str
    child_id: str
    role: str
    auditor_name: str
    due_label: str
    gap: "GapNote | None" = None  # told to the team manager: the auditor will confirm it with them
    family_url: str | None = None  # the key worker's link to say how to reach the family


@dataclass(frozen=True)
class AllocationItem:
    """One audit as the auditor's allocation lists it."""

    audit_ref: str
    child_id: str
    child_initials: str
    kind_label: str
    team: str
    buddy_name: str | None = None
    buddy_note: str | None = None
    gap: "GapNote | None" = None  # the auditor confirms or dismisses it
    form_url: str | None = None  # the auditor's link to the audit form


def day_label(day: date) -> str:
    """Format a day as 'Thursday 31 December 2026'."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def moment_label(moment: datetime, tz: tzinfo) -> str:
    """Format a moment in a zone as '12:00 on Tuesday 24 November 2026'."""
    local = moment.astimezone(tz)
    return f"{local:%H:%M} on {day_label(local.date())}"


def month_label(month: Month) -> str:
    """Format YYYY-MM as 'December 2026'."""
    return Month.parse(month).label


def compose_notice(*, recipient_name: str, month: Month, due: date, items: Sequence[NoticeItem],
                   allocated: Sequence[AllocationItem], lookback_months: int, guidance_url: str,
                   gap_months: int = 6, response_hours: int = 24, family_wait_days: int = 2) -> Composed:
    """Compose one person's digest for the month: audits allocated to them and records they are involved with."""
    return render("audit_notice", recipient_name=recipient_name, month_label=month_label(month),
                  due_label=day_label(due), items=list(items), allocated=list(allocated),
                  lookback_months=lookback_months, guidance_url=guidance_url,
                  gaps_allocated=[i for i in allocated if i.gap], gaps_involved=[i for i in items if i.gap],
                  gap_months=gap_months, response_hours=response_hours,
                  family_wait=f"{family_wait_days} working {'day' if family_wait_days == 1 else 'days'}")


def compose_withdrawal(*, recipient_name: str, month: Month, audit_ref: str, child_id: str, reason: Redacted) -> Composed:
    """Compose the message telling someone an audit was withdrawn."""
    return render("audit_withdrawn", recipient_name=recipient_name, month_label=month_label(month),
                  audit_ref=audit_ref, child_id=child_id, reason=reason)
