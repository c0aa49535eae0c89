"""Compose the messages of moderation: the panel's list and invite, assignments, chases, exceptions and outcomes.

Pure functions: given the facts, return the composed message; recipients and queueing live in
`auditcycle/moderation/panel.py`.
"""
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from auditcycle.core.clock import Month
from auditcycle.core.text import Redacted
from auditcycle.notifications.invites import Invite, calendar_text
from auditcycle.notifications.message import Composed
from auditcycle.notifications.notices import month_label
from auditcycle.notifications.render import render, subject_references


@dataclass(frozen=True)
class PanelItem:
    """One audit on the panel's list: references, reason and grade only."""

    audit_ref: str
    child_id: str
    reason: str
    grade_label: str
    moderator_name: str | None = None
    assistant_director_name: str | None = None
    moderate_url: str | None = None  # the recipient's own link to moderate this audit, if they may


@dataclass(frozen=True)
class ChaseFacts:
    """An undecided moderation as a chase states it: references, grade, age and what it waits for."""

    audit_ref: str
    child_id: str
    month: Month
    reason: str
    grade_label: str
    working_days: int
    awaiting_director: bool  # the panel has decided a good or better grade; an assistant director has not agreed


# Who each step of the chase goes to, in the order of the ladder, as the message names them.
CHASE_AUDIENCES = {"panel": "the moderation panel", "qa-manager": "the Quality Assurance manager",
                   "assistant-director": "an assistant director"}


@dataclass(frozen=True)
class GradeMove:
    """One grade the moderation changed, as labels."""

    domain_label: str
    old_label: str
    new_label: str


def compose_panel_list(*, recipient_name: str, month: Month, items: Sequence[PanelItem], updated: bool,
                       meeting_label: str | None, close_label: str, closed: bool = False) -> Composed:
    """Compose the list of audits selected for moderation, or its update after late forms (even after closure)."""
    return render("moderation_panel", recipient_name=recipient_name, month_label=month_label(month),
                  items=list(items), updated=updated, meeting_label=meeting_label, close_label=close_label,
                  closed=closed)


def compose_panel_invite(invite: Invite, *, recipient_name: str, month: Month, when_label: str, minutes: int,
                         audits: int, close_label: str, stamp: datetime, reason: Redacted | None = None,
                         cant_make_url: str | None = None) -> Composed:
    """Compose the panel meeting request, or its update once it has moved, with its calendar part.

    `cant_make_url` is the recipient's signed link to say they cannot make the time; `reason` why it moved.
    """
    body = render("moderation_meeting", recipient_name=recipient_name, month_label=month_label(month),
                  title=invite.summary, when_label=when_label, minutes=minutes, location=invite.location,
                  audits=audits, close_label=close_label, sequence=invite.sequence, reason=reason,
                  cant_make_url=cant_make_url)
    return replace(body, calendar=calendar_text(invite, method="REQUEST", stamp=stamp), calendar_method="REQUEST")


def compose_assignment(*, recipient_name: str, month: Month, audit_ref: str, child_id: str, grade_label: str,
                       close_label: str, meeting_label: str | None, moderate_url: str | None = None) -> Composed:
    """Compose the message telling a practice improvement manager which colleague's audit they moderate."""
    return render("moderation_assignment", recipient_name=recipient_name, month_label=month_label(month),
                  audit_ref=audit_ref, child_id=child_id, grade_label=grade_label, close_label=close_label,
                  meeting_label=meeting_label, moderate_url=moderate_url)


def compose_unbooked(*, recipient_name: str, month: Month, reason: str, audits: int) -> Composed:
    """Compose the exception telling the QA manager the panel meeting could not be booked."""
    return render("moderation_unbooked", recipient_name=recipient_name, month_label=month_label(month),
                  reason=reason, audits=audits)


def compose_chase(facts: ChaseFacts, *, recipient_name: str, step: str, moderate_url: str | None = None,
                  agree_url: str | None = None) -> Composed:
    """Compose the chase of a moderation still undecided some working days after selection, for one step."""
    return render("moderation_chase", recipient_name=recipient_name, month_label=month_label(facts.month),
                  audit_ref=facts.audit_ref, child_id=facts.child_id, reason=facts.reason,
                  grade_label=facts.grade_label, working_days=facts.working_days,
                  awaiting_director=facts.awaiting_director, audience=CHASE_AUDIENCES[step],
                  moderate_url=moderate_url, agree_url=agree_url)


@dataclass(frozen=True)
class ChaseItem:
    """One undecided moderation in a person's chase: the step they are told at, and their link to act on it."""

    facts: ChaseFacts
    step: str
    moderate_url: str | None = None
    agree_url: str | None = None


def compose_chases(*, recipient_name: str, items: Sequence[ChaseItem]) -> Composed:
    """Compose one person's chase of the undecided moderations: the moderation alone, or a digest naming each."""
    if len(items) == 1:
        [item] = items
        return compose_chase(item.facts, recipient_name=recipient_name, step=item.step,
                             moderate_url=item.moderate_url, agree_url=item.agree_url)
    ordered = sorted(items, key=lambda i: (-i.facts.working_days, i.facts.audit_ref))
    rows = [{"audit_ref": i.facts.audit_ref, "child_id": i.facts.child_id, "month_label": month_label(i.facts.month),
             "reason": i.facts.reason, "grade_label": i.facts.grade_label, "working_days": i.facts.working_days,
             "awaiting_director": i.facts.awaiting_director, "audience": CHASE_AUDIENCES[i.step],
             "moderate_url": i.moderate_url, "agree_url": i.agree_url} for i in ordered]
    return render("moderation_chases", recipient_name=recipient_name, items=rows,
                  references=subject_references([i.facts.audit_ref for i in ordered]))


def compose_outcome(*, recipient_name: str, month: Month, audit_ref: str, child_id: str, original_label: str,
                    moderated_label: str, moves: Sequence[GradeMove]) -> Composed:
    """Compose the moderated outcome of an audit for its auditor and the key worker."""
    return render("moderation_outcome", recipient_name=recipient_name, month_label=month_label(month),
                  audit_ref=audit_ref, child_id=child_id, original_label=original_label,
                  moderated_label=moderated_label, moves=list(moves))
