"""Who the council's sign-in service (OpenID Connect) vouches for: the member of staff its stable id is linked to.

A person is known by the ID token's stable subject (Entra ID's `oid`, else `sub`). The email claim is used once,
to link a staff row at the person's first sign-in, because it is not verified and can change; afterwards only
the subject counts, and an email that now names someone else signs in nobody new.
"""
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.core.text import Redacted
from auditcycle.models import Staff
from auditcycle.storage.events import log_event


def stable_subject(claims: dict) -> str:
    """Return the ID token's stable id for the person: Entra ID's `oid` (the same in every app), else `sub`."""
    subject = claims.get("oid") or claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise UserError("The council's sign-in service sent no id for you, so you cannot be signed in. Try again, "
                        "or ask the Quality Assurance team.")
    return subject


def staff_for_subject(session: Session, ctx: AppContext, *, subject: str, email: str | None) -> Staff:
    """Return the member of staff linked to the subject, linking them by email at their first sign-in."""
    staff = session.scalar(select(Staff).where(Staff.oidc_subject == subject))
    if staff is not None:
        return staff
    address = (email or "").strip().lower()
    matches = list(session.scalars(select(Staff).where(func.lower(Staff.email) == address, Staff.active))) \
        if address else []
    if len(matches) != 1:
        raise UserError("Your council account is not linked to a member of staff here"
                        + (" (its email address matches no one, or more than one person)" if address else "")
                        + ". Ask the Quality Assurance team to check your staff record.")
    staff = matches[0]
    if staff.oidc_subject is not None:
        raise UserError("Your staff record is already linked to another council account. Ask the Quality Assurance "
                        "team to check it.")
    staff.oidc_subject = subject
    log_event(session, ctx, subject_ref="console", kind="account-linked", actor_id=staff.id,
              detail=Redacted.fixed("linked to the council's sign-in service at first sign-in"))
    return staff
