"""Check, edit and approve a draft Make a Difference summary: the QA team's page, from the drafts email."""
from flask import current_app
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, ValidationError

from auditcycle.core.context import AppContext
from auditcycle.learning.culture import APPROVE_LINK, DRAFT, approve, get_mad, shown_summary
from auditcycle.models import Audit, Link, Staff, Submission
from auditcycle.notifications.notices import month_label
from auditcycle.web.acts import Journey, journey


def _within_limit(_: FlaskForm, field: TextAreaField) -> None:
    limit = current_app.config["AUDITCYCLE_SETTINGS"].framework.text_max_chars
    if field.data and len(field.data.strip()) > limit:
        raise ValidationError(f"The summary must be {limit:,} characters or fewer")


class MadApproveForm(FlaskForm):
    """The summary as the QA team edits it, approved with one button."""

    summary = TextAreaField("Make a Difference summary", widget=GovTextArea(),
                            validators=[DataRequired(message="Enter the summary: what made the difference"),
                                        _within_limit],
                            description="What contributed to the grade. Refer to the child and family by initials "
                                        "or case id only.")
    submit = SubmitField("Approve the summary", widget=GovSubmitInput())


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    framework = ctx.settings.framework
    mad = get_mad(session, link.subject_ref)
    audit = session.get(Audit, mad.audit_id) if mad.audit_id is not None else None
    practitioner = session.get(Staff, mad.practitioner_id) if mad.practitioner_id else None
    grade = session.scalar(select(Submission.overall).where(Submission.audit_id == audit.id)) if audit else None
    return {"caption": f"Make a Difference summary {mad.reference}", "title": "Check and approve the summary",
            "audit_ref": audit.reference if audit else None, "case_id": audit.child_id if audit else None,
            "month_label": month_label(audit.cycle.month) if audit else None,
            "grade_label": framework.grades.get(grade or "", grade) if grade else None,
            "practitioner_name": practitioner.name if practitioner else None,
            "open": mad.status == DRAFT}


def _prefill(session: Session, ctx: AppContext, link: Link) -> dict:
    return {"summary": str(shown_summary(session, get_mad(session, link.subject_ref)))}


def _approve(session: Session, ctx: AppContext, link: Link, form: MadApproveForm) -> str:
    mad = approve(session, ctx, reference=link.subject_ref, by=link.staff_id, summary=form.summary.data)
    return f"Summary {mad.reference} is approved: it can appear in the monthly report."


journey(Journey(APPROVE_LINK, "journeys/mad_approve.html", MadApproveForm, _show, _approve, prefill=_prefill))
