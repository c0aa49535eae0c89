"""The new-auditor questionnaire: the auditor's page, from the email sent after their first audit."""
from functools import lru_cache

from flask import current_app
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput, GovTextArea
from sqlalchemy.orm import Session
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from auditcycle.core.context import AppContext
from auditcycle.core.settings import QuestionnaireQuestion
from auditcycle.learning.questionnaire import ANSWER_MAX, QUESTIONNAIRE_LINK, answer_questionnaire, response_of
from auditcycle.models import Link
from auditcycle.notifications.notices import moment_label, month_label
from auditcycle.storage.records import get_audit
from auditcycle.web.acts import Journey, journey

# A question, as the form is built from it: its key, words, hint, choices and whether it must be answered.
Asked = tuple[str, str, str | None, tuple[str, ...], bool]


def field_name(key: str) -> str:
    """Return the form field of a question: apart from the form's own fields (submit, csrf_token)."""
    return f"q_{key}"


@lru_cache(maxsize=8)
def _form_class(questions: tuple[Asked, ...]) -> type[FlaskForm]:
    """The form for a council's questions (its settings' framework.questionnaire)."""
    fields: dict = {}
    for key, text, hint, choices, required in questions:
        label = text if required else f"{text} (optional)"
        if choices:
            fields[field_name(key)] = RadioField(
                label, choices=[(c, c) for c in choices], widget=GovRadioInput(), description=hint or "",
                validators=[InputRequired(message=f"Select your answer to: {text}")] if required else [Optional()])
        else:
            fields[field_name(key)] = TextAreaField(
                label, widget=GovTextArea(), description=hint or "",
                validators=[DataRequired(message=f"Enter your answer to: {text}") if required else Optional(),
                            Length(max=ANSWER_MAX, message=f"Your answer must be {ANSWER_MAX:,} characters or fewer")])
    fields["submit"] = SubmitField("Send my answers", widget=GovSubmitInput())
    return type("QuestionnaireForm", (FlaskForm,), fields)


def _asked(question: QuestionnaireQuestion) -> Asked:
    return question.key, question.text, question.hint, tuple(question.choices), question.required


def questionnaire_form(**kwargs) -> FlaskForm:
    """Make the questionnaire page's form for the site's questions."""
    questions = current_app.config["AUDITCYCLE_SETTINGS"].framework.questionnaire
    return _form_class(tuple(_asked(q) for q in questions))(**kwargs)


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    audit = get_audit(session, link.subject_ref)
    done = response_of(session, link.staff_id)
    return {"caption": f"Audit {audit.reference}, case {audit.child_id}", "title": "Tell us how your first audit went",
            "audit_label": f"{audit.reference} (case {audit.child_id}, {month_label(audit.cycle.month)})",
            "questions": [(field_name(q.key), bool(q.choices)) for q in ctx.settings.framework.questionnaire],
            "answered_label": moment_label(done.answered_at, ctx.tz) if done else None}


def _answer(session: Session, ctx: AppContext, link: Link, form: FlaskForm) -> str:
    answers = {q.key: form[field_name(q.key)].data for q in ctx.settings.framework.questionnaire}
    answer_questionnaire(session, ctx, reference=link.subject_ref, by=link.staff_id, answers=answers)
    return "Thank you. Your answers are with the Quality Assurance team."


journey(Journey(QUESTIONNAIRE_LINK, "journeys/questionnaire.html", questionnaire_form, _show, _answer))
