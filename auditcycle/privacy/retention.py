"""Retention: erase a child's personal fields a configured number of years after their last audit.

What stays is what the reports and the audit history rely on: the case id, cohort, team, audits, grades,
actions and the trail. What goes is the child's name, the day and month of birth (the year stays, because
the column is required and age bands read it), the family contacts, and any of those names, phone
numbers or the birth date typed into the audit's free text. Children never audited are the current
caseload and are left alone; the caseload import is their source and keeps them current.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, extract, func, or_, select
from sqlalchemy.orm import Session, selectinload

from auditcycle.models import (
    Action,
    Audit,
    Child,
    Dispute,
    FamilyContact,
    FamilyFeedback,
    ImmediateResponse,
    MakeADifference,
    Meeting,
    Moderation,
    Nomination,
    Submission,
)
from auditcycle.privacy.redaction import Redactor

CHUNK = 500
# Free text written about an audit, where an auditor may have typed a child's or a relative's name.
FREE_TEXT = (
    (Audit, Audit.id, ("status_reason",)),
    (Submission, Submission.audit_id, ("strengths", "practitioner_feedback")),
    (Action, Action.audit_id, ("description", "sign_off_note")),
    (ImmediateResponse, ImmediateResponse.audit_id, ("reason", "response")),
    (Moderation, Moderation.audit_id, ("note",)),
    (Dispute, Dispute.audit_id, ("note",)),
    (MakeADifference, MakeADifference.audit_id, ("summary", "note")),
    # A service manager's reason for nominating the record as good practice, once it is drawn.
    (Nomination, Nomination.audit_id, ("reason",)),
)


@dataclass
class PurgeSummary:
    """What a retention run erased, or would erase, in counts only."""

    cutoff: str
    children: int = 0
    contacts: int = 0
    texts_redacted: int = 0
    dry_run: bool = False


def cutoff_date(today: date, years: int) -> date:
    """Return the day `years` years before today (28 February for a 29 February)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def _not_yet_purged():
    contact = exists().where(FamilyContact.child_id == Child.id)
    return or_(Child.first_name != "", Child.last_name != "", contact,
               extract("month", Child.date_of_birth) != 1, extract("day", Child.date_of_birth) != 1)


def expired_children(session: Session, *, cutoff: date) -> list[str]:
    """List the case ids whose last audit was due before the cutoff and whose personal fields remain."""
    last = (select(Audit.child_id, func.max(Audit.due_date).label("last_due"))
            .group_by(Audit.child_id).subquery())
    query = (select(Child.id).join(last, last.c.child_id == Child.id)
             .where(last.c.last_due < cutoff, _not_yet_purged()).order_by(Child.id))
    return list(session.scalars(query))


def _redact_free_text(session: Session, children: dict[str, Child]) -> int:
    audits = dict(session.execute(select(Audit.id, Audit.child_id).where(Audit.child_id.in_(children))).all())
    changed = 0
    # Erasure uses the one redactor, so what retention leaves is what a message would have shown.
    redactors = {child_id: Redactor.about(session, child) for child_id, child in children.items()}
    for model, audit_column, fields in FREE_TEXT:
        for row in session.scalars(select(model).where(audit_column.in_(audits))):
            changed += _scrub_fields(row, fields, redactors[audits[getattr(row, audit_column.key)]])
    feedback = session.execute(select(FamilyFeedback, Submission.audit_id).join(Submission)
                               .where(Submission.audit_id.in_(audits))).all()
    for row, audit_id in feedback:
        changed += _scrub_fields(row, ("summary",), redactors[audits[audit_id]])
    return changed


def _scrub_fields(row, fields: Iterable[str], redact: Redactor) -> int:
    changed = 0
    for field in fields:
        text = getattr(row, field)
        if text:
            cleaned = str(redact(text))
            if cleaned != text:
                setattr(row, field, cleaned)
                changed += 1
    return changed


def purge_expired(session: Session, *, now: datetime, years: int, dry_run: bool = False) -> PurgeSummary:
    """Erase the personal fields of every child whose last audit was more than `years` years ago."""
    cutoff = cutoff_date(now.date(), years)
    ids = expired_children(session, cutoff=cutoff)
    summary = PurgeSummary(cutoff=cutoff.isoformat(), dry_run=dry_run)
    summary.children = len(ids)
    if dry_run:
        for start in range(0, len(ids), CHUNK):
            summary.contacts += session.scalar(select(func.count()).select_from(FamilyContact)
                                               .where(FamilyContact.child_id.in_(ids[start:start + CHUNK])))
        return summary
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        children = {c.id: c for c in session.scalars(select(Child).where(Child.id.in_(chunk))
                                                     .options(selectinload(Child.contacts)))}
        # Names are read for the redaction before they are erased.
        summary.texts_redacted += _redact_free_text(session, children)
        contact_ids = [contact.id for child in children.values() for contact in child.contacts]
        if contact_ids:
            # A booked family call keeps its time and kind; only the link to the erased contact goes.
            for meeting in session.scalars(select(Meeting).where(Meeting.contact_id.in_(contact_ids))):
                meeting.contact_id = None
        for child in children.values():
            for contact in child.contacts:
                session.delete(contact)
            summary.contacts += len(child.contacts)
            child.first_name = ""
            child.last_name = ""
            child.date_of_birth = date(child.date_of_birth.year, 1, 1)
        session.flush()
    return summary
