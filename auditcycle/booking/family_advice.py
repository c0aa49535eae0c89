"""How to reach the family: the key worker is asked with the notice, and the family calls wait for the answer.

The framework asks the auditor to "ask the allocated practitioner how they communicate" and to overcome known
barriers (Language Line). So the notice asks the child's key worker, for each family contact, the language,
whether an interpreter is needed, the best times to call and any reason not to contact them. The family calls
wait for that advice for `family_advice_wait_working_days`, then are booked on the imported contact details.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.core.text import Redacted, text_problem
from auditcycle.models import Audit, ContactAdvice, FamilyAdvice, FamilyContact
from auditcycle.models.enums import CycleKind
from auditcycle.people.permissions import Subject, authorise
from auditcycle.storage.events import log_event
from auditcycle.storage.records import get_audit

LANGUAGE_MAX, BEST_TIMES_MAX, REASON_MAX = 60, 200, 500


@dataclass(frozen=True)
class ContactAdviceInput:
    """What the key worker says of one family contact."""

    contact_id: int
    language: str | None = None
    interpreter_needed: bool = False
    best_times: str | None = None
    do_not_contact_reason: str | None = None


def family_contacts(ctx: AppContext, audit: Audit) -> list[FamilyContact]:
    """Return the family contacts the auditor will call for this audit: none once the child is an adult."""
    child = audit.child
    if child.age_on(ctx.timescales.today(ctx.now)) >= ctx.settings.framework.adult_age:
        return []
    return sorted(child.contacts, key=lambda c: c.id)


def ask_for_advice(session: Session, ctx: AppContext, audit: Audit) -> bool:
    """Record that the key worker is asked, with the notice, how to reach the family; say whether there is anyone to ask about.

    Only for the monthly cycle, whose booking runs every working hour until each audit is booked: a deep dive
    or dip sample books at once, on the imported details, so it has no time to wait for an answer.
    """
    if audit.cycle.kind != CycleKind.MONTHLY or audit.child.key_worker is None or not family_contacts(ctx, audit):
        return False
    if session.get(FamilyAdvice, audit.id) is None:
        session.add(FamilyAdvice(audit_id=audit.id, asked_at=ctx.now))
    return True


def advice_due_at(ctx: AppContext, advice: FamilyAdvice) -> datetime:
    """Return when the family calls stop waiting for the advice and are booked on the imported details."""
    return ctx.timescales.working_days_after(advice.asked_at, ctx.settings.framework.family_advice_wait_working_days)


def waiting_for_advice(ctx: AppContext, advice: FamilyAdvice | None) -> bool:
    """Say whether an audit's family calls still wait for the key worker's advice."""
    return advice is not None and advice.given_at is None and ctx.now < advice_due_at(ctx, advice)


def advice_by_audit(session: Session, audit_ids: list[int]) -> dict[int, FamilyAdvice]:
    """Return the advice asked for, or given, for each of these audits."""
    if not audit_ids:
        return {}
    return {a.audit_id: a for a in session.scalars(select(FamilyAdvice).where(FamilyAdvice.audit_id.in_(audit_ids)))}


def _one_line(value: str | None, field: str, limit: int) -> str | None:
    value = value.strip() if value else None
    if not value:
        return None
    if len(value) > limit or text_problem(value, multiline=field == "do_not_contact_reason"):
        raise UserError(f"{field}: at most {limit} characters of plain text")
    return value


def record_advice(session: Session, ctx: AppContext, *, reference: str, by: str,
                  contacts: list[ContactAdviceInput]) -> FamilyAdvice:
    """Record the key worker's advice on reaching each family contact of an audit, once; the calls then book on it."""
    audit = get_audit(session, reference)
    authorise(session, command="family-contact", staff_id=by, subject=Subject(audit=audit))
    advice = session.get(FamilyAdvice, audit.id)
    if advice is None:
        raise UserError(f"{reference}: the key worker was not asked how to reach the family for this audit")
    if advice.given_at is not None:
        raise UserError(f"{reference}: the advice on reaching the family was already given")
    known = {c.id for c in family_contacts(ctx, audit)}
    given = [c.contact_id for c in contacts]
    if sorted(given) != sorted(known):
        raise UserError(f"{reference}: give advice on each family contact of the audit, once each")
    for item in contacts:
        session.add(ContactAdvice(
            audit_id=audit.id, contact_id=item.contact_id,
            language=_one_line(item.language, "language", LANGUAGE_MAX), interpreter_needed=bool(item.interpreter_needed),
            best_times=_one_line(item.best_times, "best_times", BEST_TIMES_MAX),
            do_not_contact_reason=_one_line(item.do_not_contact_reason, "do_not_contact_reason", REASON_MAX)))
    advice.given_at, advice.given_by_id = ctx.now, by
    session.flush()
    # What was said stays in the database: the log says only how much, never a language or a reason.
    held_back = sum(1 for c in contacts if c.do_not_contact_reason and c.do_not_contact_reason.strip())
    log_event(session, ctx, subject_ref=reference, kind="family-advice", actor_id=by,
              detail=Redacted.fixed(f"advice on {len(contacts)} family contacts; {held_back} not to be called"))
    return advice
