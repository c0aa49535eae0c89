"""Dispute a grade, for the key worker or their managers, and supervision discussed, for the team manager."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from auditcycle.core.context import AppContext
from auditcycle.models import Link, Submission
from auditcycle.notifications.notices import day_label
from auditcycle.storage.records import get_audit
from auditcycle.submissions.grades import OVERALL, current_grades
from auditcycle.submissions.submit import DISPUTE, dispute
from auditcycle.web.acts import Journey, journey

NOTE_MAX = 4000


class DisputeForm(FlaskForm):
    """Why the grade is wrong."""

    note = TextAreaField("Why you disagree with the grade", widget=GovTextArea(),
                         validators=[DataRequired(message="Enter why you disagree with the grade"),
                                     Length(max=NOTE_MAX, message=f"Enter at most {NOTE_MAX} characters")],
                         description="The moderation panel reads this. Refer to the child by case id. "
                                     "Do not include names.")
    submit = SubmitField("Dispute the grade", widget=GovSubmitInput())


def _outcome(session: Session, ctx: AppContext, link: Link) -> dict:
    audit = get_audit(session, link.subject_ref)
    framework = ctx.settings.framework
    submission = session.scalar(select(Submission).where(Submission.audit_id == audit.id))
    grades = current_grades(session, submission) if submission is not None else {}
    return {"audit_ref": audit.reference, "case_id": audit.child_id,
            "auditor_name": audit.auditor.name if audit.auditor else "the QA team",
            "overall_label": framework.grades[grades[OVERALL]] if OVERALL in grades else "not yet graded",
            "grades": [(label, framework.grades[grades[d]]) for d, label in framework.domains.items() if d in grades],
            "closes_label": day_label(ctx.timescales.moderation_closes(audit.cycle.due_date))}


def _show_dispute(session: Session, ctx: AppContext, link: Link) -> dict:
    return {**_outcome(session, ctx, link), "caption": f"Audit {link.subject_ref}", "title": "Dispute the grade"}


def _dispute(session: Session, ctx: AppContext, link: Link, form: DisputeForm) -> str:
    dispute(session, ctx, reference=link.subject_ref, by=link.staff_id, note=form.note.data)
    return (f"Your disagreement with the grade of audit {link.subject_ref} is recorded. The moderation panel "
            "will consider it, and the auditor will talk it through with the team manager.")


journey(Journey(DISPUTE, "journeys/dispute.html", DisputeForm, _show_dispute, _dispute))
