"""The buddy's review of a new auditor's form before it is final: agreed, or a comment the auditor is sent."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.clock import wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.core.text import Redacted, text_problem
from auditcycle.links.offer import offer_link
from auditcycle.models import Audit, BuddyReview, Submission
from auditcycle.models.enums import AuditStatus
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.notifications.outcomes import compose_buddy_word
from auditcycle.people.permissions import Subject, authorise
from auditcycle.privacy.redaction import Redactor
from auditcycle.storage.events import log_event
from auditcycle.storage.records import get_audit

PHASE = "submit"
COMMENT_MAX = 4000


def submission_to_review(session: Session, audit: Audit) -> Submission:
    """Return the audit's submitted form, refusing an audit whose form is not waiting for its buddy's review."""
    submission = session.scalar(select(Submission).where(Submission.audit_id == audit.id))
    if submission is None or audit.status != AuditStatus.SUBMITTED:
        raise UserError(f"{audit.reference} is {audit.status.value.replace('_', ' ')}: a buddy reviews the form "
                        "once it is submitted and before moderation")
    return submission


def review_as_buddy(session: Session, ctx: AppContext, *, reference: str, by: str, agreed: bool,
                    comment: str = "") -> BuddyReview:
    """Record the buddy's word on the form as last submitted, once per version, and tell the auditor."""
    audit = get_audit(session, reference)
    authorise(session, command="buddy-review", staff_id=by, subject=Subject(audit=audit))
    ctx.refuse_before(audit.created_at, f"{reference} was drawn")
    submission = submission_to_review(session, audit)
    comment = (comment or "").strip()
    if not agreed and not comment:
        raise UserError("comment: say what the auditor should look at again")
    if len(comment) > COMMENT_MAX:
        raise UserError(f"comment: at most {COMMENT_MAX:,} characters ({len(comment):,} given)")
    if problem := text_problem(comment, multiline=True):
        raise UserError(f"comment: {problem}")
    if session.scalar(select(BuddyReview.id).where(BuddyReview.submission_id == submission.id,
                                                   BuddyReview.version == submission.version)):
        raise UserError(f"{reference}: version {submission.version} of the form is already reviewed")
    review = BuddyReview(submission_id=submission.id, version=submission.version, reviewer_id=by, agreed=agreed,
                         comment=comment, reviewed_at=ctx.now, recorded_at=wall_clock())
    session.add(review)
    session.flush()
    log_event(session, ctx, subject_ref=audit.reference, kind="buddy-reviewed", actor_id=by,
              detail=Redacted.fixed(f"version {submission.version}: {'agreed' if agreed else 'commented'}"))
    auditor = audit.auditor
    if auditor is not None:
        key = MessageKey(PHASE, audit.cycle.month, audit.reference, f"buddy-word-v{submission.version}")
        form_url = offer_link(session, ctx, purpose="audit-form", command="submit", subject=Subject(audit=audit),
                              subject_ref=audit.reference, person=auditor, key=key, deadline=audit.due_date)
        message = compose_buddy_word(recipient_name=auditor.name, audit_ref=audit.reference, child_id=audit.child_id,
                                     buddy_name=review.reviewer.name if review.reviewer else by, agreed=agreed,
                                     comment=Redactor.about(session, audit.child)(comment),
                                     version=submission.version, form_url=form_url)
        enqueue(session, ctx, key, auditor, message)
    return review
