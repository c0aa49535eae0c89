"""Dispute a grade, for the key worker or their managers, and supervision discussed, for the team manager."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from auditcycle.core.context import AppContext
from auditcycle.models import Link, Submission
from auditcycle.notifications.notices import day_label
from auditcycle.storage.records import get_audit
from auditcycle.submissions.grades import OVERALL, current_grades
from auditcycle.submissions.submit import DISPUTE, SUPERVISION_DISCUSSED, dispute
from auditcycle.submissions.supervision import record_supervision_discussed, responses_to_raise
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


class SupervisionDiscussedForm(FlaskForm):
    """The one button, and what was agreed if the manager wants to say."""

    note = TextAreaField("What was agreed (optional)", widget=GovTextArea(),
                         validators=[Optional(), Length(max=NOTE_MAX, message=f"Enter at most {NOTE_MAX} characters")],
                         description="Refer to the child by case id. Do not include names.")
    submit = SubmitField("Confirm the discussion", widget=GovSubmitInput())


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


def _show_discussed(session: Session, ctx: AppContext, link: Link) -> dict:
    audit = get_audit(session, link.subject_ref)
    return {**_outcome(session, ctx, link), "caption": f"Audit {link.subject_ref}",
            "title": "Record the supervision discussion",
            "practitioner_name": audit.child.key_worker.name if audit.child.key_worker else "the key worker",
            "responses": responses_to_raise(session, audit)}


def _discussed(session: Session, ctx: AppContext, link: Link, form: SupervisionDiscussedForm) -> str:
    record_supervision_discussed(session, ctx, reference=link.subject_ref, by=link.staff_id, note=form.note.data)
    return f"The supervision discussion of audit {link.subject_ref} is recorded."


journey(Journey(DISPUTE, "journeys/dispute.html", DisputeForm, _show_dispute, _dispute))
journey(Journey(SUPERVISION_DISCUSSED, "journeys/supervision_discussed.html", SupervisionDiscussedForm,
                _show_discussed, _discussed))
