"""The buddy's review of a new auditor's submitted form: agree with it, or comment for the auditor to look again."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput, GovTextArea
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Optional

from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.models import Action, DomainGrade, Link, Submission
from auditcycle.notifications.notices import day_label
from auditcycle.privacy.redaction import Redactor
from auditcycle.storage.records import get_audit
from auditcycle.submissions.buddy import review_as_buddy
from auditcycle.web.acts import FieldProblem, Journey, journey


class BuddyReviewForm(FlaskForm):
    """Agree, or say what the new auditor should look at again."""

    verdict = RadioField("Do you agree with the form?", widget=GovRadioInput(),
                         choices=[("agree", "Yes, I agree with the grades and actions"),
                                  ("comment", "No, the auditor should look again")],
                         validators=[InputRequired(message="Select whether you agree with the form")])
    comment = TextAreaField("Your comment for the auditor", widget=GovTextArea(), validators=[Optional()],
                            description="Needed if the auditor should look again. Refer to the child by case id.")
    submit = SubmitField("Send", widget=GovSubmitInput())


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    audit = get_audit(session, link.subject_ref)
    framework = ctx.settings.framework
    redact = Redactor.about(session, audit.child)
    submission = session.scalar(select(Submission).where(Submission.audit_id == audit.id))
    grades = {g.domain: g.grade for g in session.scalars(
        select(DomainGrade).where(DomainGrade.submission_id == submission.id))} if submission else {}
    actions = list(session.scalars(select(Action).where(Action.audit_id == audit.id).order_by(Action.id)))
    return {
        "caption": f"Audit {audit.reference}", "title": "Review the new auditor's form",
        "audit_ref": audit.reference, "case_id": audit.child_id, "initials": audit.child.initials,
        "auditor_name": audit.auditor.name if audit.auditor else "the QA team",
        "version": submission.version if submission else None,
        "overall": framework.grades.get(submission.overall, submission.overall) if submission else None,
        "grades": [(label, framework.grades.get(grades[d], grades[d])) for d, label in framework.domains.items()
                   if d in grades],
        "strengths": str(redact(submission.strengths)) if submission else "",
        "actions": [(str(redact(a.description)), a.owner.name, day_label(a.due_date)) for a in actions],
    }


def _act(session: Session, ctx: AppContext, link: Link, form: BuddyReviewForm) -> str:
    agreed = form.verdict.data == "agree"
    try:
        review_as_buddy(session, ctx, reference=link.subject_ref, by=link.staff_id, agreed=agreed,
                        comment=form.comment.data or "")
    except UserError as refused:
        where, _, message = str(refused).partition(": ")
        if where == "comment":
            raise FieldProblem("comment", f"Your comment: {message}") from None
        raise
    if agreed:
        return f"You agreed with the form for {link.subject_ref}. The auditor has been told."
    return f"Your comment on the form for {link.subject_ref} has been sent to the auditor."


journey(Journey("buddy-review", "journeys/buddy_review.html", BuddyReviewForm, _show, _act))
