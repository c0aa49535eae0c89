"""Compose the announcement of an audit's outcome and the supervision prompt."""
from collections.abc import Sequence
from dataclasses import dataclass

from auditcycle.core.text import Redacted
from auditcycle.notifications.message import Composed
from auditcycle.notifications.render import render


@dataclass(frozen=True)
class GradeRow:
    """One domain's grade, as labels."""

    domain: str
    grade: str


@dataclass(frozen=True)
class ActionRow:
    """One action, with its owner's name and due date label."""

    reference: str
    description: Redacted
    owner: str
    due: str


def compose_outcome(*, recipient_name: str, audit_ref: str, child_id: str, auditor_name: str, overall_label: str,
                    grades: Sequence[GradeRow], actions: Sequence[ActionRow], max_days: int, version: int,
                    dispute_url: str | None = None) -> Composed:
    """Compose the grades and actions of a submitted audit for someone involved, with their link to dispute if they may."""
    return render("audit_outcome", recipient_name=recipient_name, audit_ref=audit_ref, child_id=child_id,
                  auditor_name=auditor_name, overall_label=overall_label, grades=list(grades), actions=list(actions),
                  max_days=max_days, version=version, dispute_url=dispute_url)


def compose_buddy_review(*, recipient_name: str, audit_ref: str, child_id: str, auditor_name: str, overall_label: str,
                         grades: Sequence[GradeRow], strengths: Redacted, actions: Sequence[ActionRow], version: int,
                         close_label: str, review_url: str | None = None) -> Composed:
    """Compose a copy of a new auditor's submitted form for their buddy to agree with or comment on before it is final."""
    return render("buddy_review", recipient_name=recipient_name, audit_ref=audit_ref, child_id=child_id,
                  auditor_name=auditor_name, overall_label=overall_label, grades=list(grades), strengths=strengths,
                  actions=list(actions), version=version, close_label=close_label, review_url=review_url)


def compose_buddy_word(*, recipient_name: str, audit_ref: str, child_id: str, buddy_name: str, agreed: bool,
                       comment: Redacted, version: int, form_url: str | None) -> Composed:
    """Compose the new auditor's message that their buddy agreed with the form, or commented on it."""
    return render("buddy_word", recipient_name=recipient_name, audit_ref=audit_ref, child_id=child_id,
                  buddy_name=buddy_name, agreed=agreed, comment=comment, version=version, form_url=form_url)


def compose_supervision_prompt(*, recipient_name: str, audit_ref: str, child_id: str, practitioner_name: str,
                               overall_label: str, responses: Sequence[str] = (),
                               record_url: str | None = None, nominate_url: str | None = None) -> Composed:
    """Compose the team manager's prompt to discuss the audit at supervision, with their links to record it and nominate."""
    return render("supervision_prompt", recipient_name=recipient_name, audit_ref=audit_ref, child_id=child_id,
                  practitioner_name=practitioner_name, overall_label=overall_label, responses=list(responses),
                  record_url=record_url, nominate_url=nominate_url)
