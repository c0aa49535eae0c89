"""Offering a link in a message: only to a person the permission table lets do the act, once per message."""
from datetime import date

from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.links.tokens import issue_link
from auditcycle.models import Staff
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.outbox import MessageKey
from auditcycle.people.permissions import Subject, may


def offer_link(session: Session, ctx: AppContext, *, purpose: str, command: str, subject: Subject, subject_ref: str,
               person: Staff, key: MessageKey, deadline: date | None = None) -> str | None:
    """Return the person's link for an act on a record, the same for a re-run of the message; None if they may not."""
    if not may(session, command, person, subject):
        return None
    return issue_link(session, ctx, purpose=purpose, subject_ref=subject_ref, staff=person, deadline=deadline,
                      key=f"{key.for_recipient(Recipient.of(person))}:{purpose}:{subject_ref}")
