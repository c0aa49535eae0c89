"""Moderate one audit: the panel member's (or assigned manager's) page of the submitted grades and their decision."""
from functools import cache

from flask import current_app
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSelect, GovSubmitInput, GovTextArea
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from auditcycle.core.context import AppContext
from auditcycle.core.settings import FrameworkSettings
from auditcycle.models import Link, Moderation, Staff, Submission
from auditcycle.models.enums import AuditStatus
from auditcycle.moderation.panel import (
    AGREE_LINK,
    MODERATE_LINK,
    agree_moderation,
    awaiting_director,
    grade_moves,
    needs_director,
    record_moderation,
    submitted_grades,
)
from auditcycle.notifications.notices import month_label
from auditcycle.privacy.redaction import Redactor
from auditcycle.storage.records import get_audit
from auditcycle.submissions.grades import OVERALL
from auditcycle.web.acts import Journey, journey

DOMAIN_FIELD = "domain_"  # prefixed, so no domain's slug can clash with the form's own fields


class _ModerateBase(FlaskForm):
    """The part of the moderation form that does not depend on the council's domains and grades."""

    submit = SubmitField("Record the moderation", widget=GovSubmitInput())


@cache
def _form_class(domains: tuple[tuple[str, str], ...], grades: tuple[tuple[str, str], ...],
                note_max: int) -> type[FlaskForm]:
    fields = {f"{DOMAIN_FIELD}{slug}": SelectField(label, widget=GovSelect(), choices=list(grades),
                                                   validators=[InputRequired(message=f"Select a grade for {label}")])
              for slug, label in domains}
    fields["overall"] = RadioField("Moderated overall grade", widget=GovRadioInput(), choices=list(grades),
                                   validators=[InputRequired(message="Select the moderated overall grade")])
    fields["note"] = TextAreaField(
        "What the panel decided, and why", widget=GovTextArea(),
        description="Refer to the child by case id. Do not include names.",
        validators=[DataRequired(message="Enter what the panel decided and why"),
                    Length(max=note_max, message=f"The note must be {note_max:,} characters or fewer")])
    return type("ModerateForm", (_ModerateBase,), fields)


def moderate_form(**kwargs: object) -> FlaskForm:
    """Return the moderation form for this council's domains and grades."""
    framework: FrameworkSettings = current_app.config["AUDITCYCLE_SETTINGS"].framework
    cls = _form_class(tuple(framework.domains.items()), tuple(framework.grades.items()), framework.text_max_chars)
    return cls(**kwargs)


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    framework = ctx.settings.framework
    audit = get_audit(session, link.subject_ref)
    moderation = session.scalar(select(Moderation).where(Moderation.audit_id == audit.id))
    submission = session.scalar(select(Submission).where(Submission.audit_id == audit.id))
    grades = submitted_grades(session, audit) if submission is not None else {}
    redact = Redactor.about(session, audit.child)

    def label(grade: str | None) -> str:
        return framework.grades.get(grade or "", grade or "not graded")

    return {"caption": f"Audit {audit.reference} (case {audit.child_id})", "title": "Moderate the audit",
            "audit_ref": audit.reference, "case_id": audit.child_id, "month_label": month_label(audit.cycle.month),
            "reason": moderation.reason if moderation else None,
            "grades": [(name, label(grades.get(slug))) for slug, name in framework.domains.items()],
            "overall_label": label(grades.get(OVERALL)),
            "strengths": redact(submission.strengths) if submission else "",
            "feedback": redact(submission.practitioner_feedback) if submission else "",
            "open": audit.status == AuditStatus.IN_MODERATION and moderation is not None,
            "domain_fields": [f"{DOMAIN_FIELD}{slug}" for slug in framework.domains]}


def _prefill(session: Session, ctx: AppContext, link: Link) -> dict:
    grades = submitted_grades(session, get_audit(session, link.subject_ref))
    return {f"{DOMAIN_FIELD}{slug}": grades[slug] for slug in ctx.settings.framework.domains if slug in grades}


def _moderate(session: Session, ctx: AppContext, link: Link, form: FlaskForm) -> str:
    domains = {slug: form[f"{DOMAIN_FIELD}{slug}"].data for slug in ctx.settings.framework.domains}
    moderation = record_moderation(session, ctx, reference=link.subject_ref, by=link.staff_id,
                                   grade=form.overall.data, domains=domains, note=form.note.data)
    if moderation.audit.status == AuditStatus.IN_MODERATION and needs_director(ctx.settings.framework, moderation):
        return (f"Your moderation of {link.subject_ref} is recorded. Its grade is good or better, so it becomes "
                "final once an assistant director agrees it.")
    return (f"Your moderation of {link.subject_ref} is recorded and final. The auditor and the key worker are "
            "told the outcome.")


journey(Journey(MODERATE_LINK, "journeys/moderate.html", moderate_form, _show, _moderate, prefill=_prefill))


class AgreeForm(FlaskForm):
    """An assistant director's agreement: one button."""

    submit = SubmitField("Agree the grade", widget=GovSubmitInput())


def _show_agree(session: Session, ctx: AppContext, link: Link) -> dict:
    framework = ctx.settings.framework
    audit = get_audit(session, link.subject_ref)
    moderation = session.scalar(select(Moderation).where(Moderation.audit_id == audit.id))
    decider = session.get(Staff, moderation.decided_by_id) if moderation and moderation.decided_by_id else None
    decided_by = decider.name if decider else None
    grade = moderation.moderated_overall if moderation else None
    return {"caption": f"Audit {audit.reference} (case {audit.child_id})", "title": "Agree the moderated grade",
            "audit_ref": audit.reference, "case_id": audit.child_id, "month_label": month_label(audit.cycle.month),
            "submitted_label": framework.grades.get(moderation.original_overall or "", "not graded")
            if moderation else None,
            "moderated_label": framework.grades.get(grade or "", grade or "not decided"), "decided_by": decided_by,
            "note": Redactor.about(session, audit.child)(moderation.note) if moderation else "",
            "moves": grade_moves(session, framework, audit),
            "open": moderation is not None and awaiting_director(framework, moderation)}


def _agree(session: Session, ctx: AppContext, link: Link, form: AgreeForm) -> str:
    agree_moderation(session, ctx, reference=link.subject_ref, by=link.staff_id)
    return (f"You agreed the moderated grade of {link.subject_ref}: it is final. The auditor and the key worker are "
            "told the outcome.")


journey(Journey(AGREE_LINK, "journeys/agree_moderation.html", AgreeForm, _show_agree, _agree))
