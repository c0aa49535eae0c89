"""The supervision discussion the framework asks for after an audit: prompted, then recorded by the team manager."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.core.text import text_problem
from auditcycle.models import Audit, ImmediateResponse, Submission
from auditcycle.models.enums import AuditStatus
from auditcycle.people.permissions import Subject, authorise
from auditcycle.privacy.redaction import Redactor
from auditcycle.storage.events import log_event
from auditcycle.storage.records import get_audit

# The discussion follows the form; an audit withdrawn or replaced has nothing to discuss.
DISCUSSABLE = (AuditStatus.SUBMITTED, AuditStatus.IN_MODERATION, AuditStatus.COMPLETED)


def responses_to_raise(session: Session, audit: Audit) -> list[str]:
    """Return the references of the audit's Immediate Responses, for the team manager to raise in supervision."""
    return list(session.scalars(select(ImmediateResponse.reference).where(ImmediateResponse.audit_id == audit.id)
                                .order_by(ImmediateResponse.id)))


def record_supervision_discussed(session: Session, ctx: AppContext, *, reference: str, by: str,
                                 note: str | None = None) -> Audit:
    """Record, once, that the key worker's team manager has discussed the audit at supervision, with an optional note."""
    audit = get_audit(session, reference)
    manager = authorise(session, command="supervision-discussed", staff_id=by, subject=Subject(audit=audit))
    note = note.strip() if note and note.strip() else None
    if note is not None and (problem := text_problem(note, multiline=True)):
        raise UserError(f"--note {problem}")
    if audit.status not in DISCUSSABLE:
        raise UserError(f"{reference} is {audit.status.value.replace('_', ' ')}: a supervision discussion is "
                        "recorded once the form is submitted")
    if audit.supervision_discussed_at is not None:
        when = audit.supervision_discussed_at.astimezone(ctx.tz)
        raise UserError(f"{reference}: the supervision discussion was already recorded by "
                        f"{audit.supervision_discussed_by_id} on {when:%d %B %Y at %H:%M}")
    submitted_at = session.scalar(select(Submission.submitted_at).where(Submission.audit_id == audit.id))
    ctx.refuse_before(submitted_at, f"{reference}'s form was submitted")
    audit.supervision_discussed_at = ctx.now
    audit.supervision_discussed_by_id = manager.id
    session.flush()
    # The note is kept in the trail only, through the redactor, as the tracker and exports show it.
    log_event(session, ctx, subject_ref=audit.reference, kind="supervision-discussed", actor_id=manager.id,
              detail=Redactor.about(session, audit.child)(note))
    return audit
