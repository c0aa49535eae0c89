"""A form saved to return to later: kept on the audit unchecked, until the form is submitted."""
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.models import Submission
from auditcycle.people.permissions import Subject, authorise
from auditcycle.storage.events import log_event
from auditcycle.storage.records import get_audit
from auditcycle.submissions.forms import MAX_FORM_BYTES
from auditcycle.submissions.submit import OPEN_FOR_SUBMISSION


def save_draft(session: Session, ctx: AppContext, *, reference: str, data: dict, by: str) -> None:
    """Keep a part-filled form on the audit for its auditor to finish; nothing in it is checked or announced."""
    audit = get_audit(session, reference)
    authorise(session, command="submit", staff_id=by, subject=Subject(audit=audit))
    ctx.refuse_before(audit.created_at, f"{reference} was drawn")
    if audit.status not in OPEN_FOR_SUBMISSION:
        raise UserError(f"{reference} is {audit.status.value.replace('_', ' ')}: a form can be saved only "
                        "until moderation")
    if not isinstance(data, dict) or len(json.dumps(data)) > MAX_FORM_BYTES:
        raise UserError(f"{reference}: a draft is a form of at most {MAX_FORM_BYTES:,} characters")
    audit.form_draft = data
    session.flush()
    log_event(session, ctx, subject_ref=audit.reference, kind="draft-saved", actor_id=by)


def form_to_show(session: Session, reference: str) -> dict:
    """Return the form to reopen: the draft saved last, else the form as submitted, else an empty one."""
    audit = get_audit(session, reference)
    if audit.form_draft is not None:
        return audit.form_draft
    stored = session.scalar(select(Submission.form).where(Submission.audit_id == audit.id))
    return stored or {}
