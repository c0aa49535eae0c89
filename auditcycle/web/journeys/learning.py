"""Make a Difference: the QA team's page to check, edit and approve a draft summary, from the drafts email, and the
team manager's page to nominate a key worker for an interview, from the supervision prompt."""
from flask import current_app
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, ValidationError

from auditcycle.core.context import AppContext
from auditcycle.learning.culture import (
    APPROVE_LINK,
    BOOKED,
    DRAFT,
    INTERVIEW_WINDOW_WORKING_DAYS,
    already_nominated,
    approve,
    get_mad,
    nominate_from_audit,
    nomination_from,
    shown_summary,
)
from auditcycle.models import Audit, Link, Staff, Submission
from auditcycle.notifications.notices import moment_label, month_label
from auditcycle.people.cases import audited_key_worker
from auditcycle.storage.records import get_audit
from auditcycle.submissions.submit import MAD_NOMINATE
from auditcycle.web.acts import Journey, journey


def _within_limit(what: str):  # noqa: ANN202
    def check(_: FlaskForm, field: TextAreaField) -> None:
        limit = current_app.config["AUDITCYCLE_SETTINGS"].framework.text_max_chars
        if field.data and len(field.data.strip()) > limit:
            raise ValidationError(f"{what} must be {limit:,} characters or fewer")
    return check


class MadApproveForm(FlaskForm):
    """The summary as the QA team edits it, approved with one button."""

    summary = TextAreaField("Make a Difference summary", widget=GovTextArea(),
                            validators=[DataRequired(message="Enter the summary: what made the difference"),
                                        _within_limit("The summary")],
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


class MadNominateForm(FlaskForm):
    """The good outcome the manager noticed, which the interview will explore."""

    note = TextAreaField("What good outcome did you notice?", widget=GovTextArea(),
                         validators=[DataRequired(message="Enter the good outcome you noticed"),
                                     _within_limit("The good outcome")],
                         description="What the practitioner did, and the difference it made for the child. Refer "
                                     "to the child by case id. Do not include names.")
    submit = SubmitField("Nominate for an interview", widget=GovSubmitInput())


def _show_nominate(session: Session, ctx: AppContext, link: Link) -> dict:
    framework = ctx.settings.framework
    audit = get_audit(session, link.subject_ref)
    practitioner = audited_key_worker(session, audit)
    team = practitioner.team.name if practitioner is not None and practitioner.team is not None else None
    grade = session.scalar(select(Submission.overall).where(Submission.audit_id == audit.id))
    done = nomination_from(session, audit)
    name = practitioner.name if practitioner else "the key worker"
    return {"caption": f"Audit {audit.reference}, case {audit.child_id}",
            "title": f"Nominate {name} for a Make a Difference interview",
            "practitioner": f"{name}{f' ({team})' if team else ''}",
            "audit_label": f"{audit.reference} (case {audit.child_id}, {month_label(audit.cycle.month)})",
            "grade_label": framework.grades.get(grade, grade) if grade else None,
            "minutes": framework.mad_interview_minutes, "window": INTERVIEW_WINDOW_WORKING_DAYS,
            "done": already_nominated(session, ctx, done, audit=audit) if done else None}


def _nominate(session: Session, ctx: AppContext, link: Link, form: MadNominateForm) -> str:
    mad = nominate_from_audit(session, ctx, reference=link.subject_ref, by=link.staff_id, note=form.note.data)
    name = session.get(Staff, mad.practitioner_id).name
    if mad.status == BOOKED:
        return (f"{name} is nominated. Make a Difference interview {mad.reference} is booked for "
                f"{moment_label(mad.starts_at, ctx.tz)}: the invitation and your confirmation are on their way.")
    return (f"{name} is nominated (interview {mad.reference}). No time could be found yet: the Quality Assurance "
            "team will arrange the interview and tell you when.")


journey(Journey(MAD_NOMINATE, "journeys/mad_nominate.html", MadNominateForm, _show_nominate, _nominate))
