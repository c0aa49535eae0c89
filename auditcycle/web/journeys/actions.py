"""Action done (for the owner or their line manager) and action sign-off (for the line manager)."""
from datetime import date

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovRadioInput, GovSubmitInput, GovTextArea
from sqlalchemy.orm import Session
from wtforms import DateField, RadioField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from auditcycle.actions.ladder import get_action, mark_done, sign_off
from auditcycle.core.context import AppContext
from auditcycle.models import Link
from auditcycle.models.enums import ActionStatus
from auditcycle.notifications.notices import day_label
from auditcycle.privacy.redaction import Redactor
from auditcycle.web.acts import FieldProblem, Journey, journey

NOTE_MAX = 2000


class ActionDoneForm(FlaskForm):
    """What was done, optionally."""

    note = TextAreaField("What was done (optional)", widget=GovTextArea(), validators=[Optional(), Length(max=NOTE_MAX)],
                         description="Refer to the child by case id. Do not include names.")
    submit = SubmitField("Record as done", widget=GovSubmitInput())


class ActionSignOffForm(FlaskForm):
    """The line manager's judgement of quality as well as compliance."""

    quality = RadioField("Is the quality of what was done good enough?", widget=GovRadioInput(),
                         choices=[("met", "Yes, the quality is met: sign it off"),
                                  ("not_met", "No, the quality is not met: reopen it")],
                         validators=[InputRequired(message="Select whether the quality is met")])
    note = TextAreaField("How you judged it", widget=GovTextArea(),
                         validators=[DataRequired(message="Enter how you judged the quality and compliance"),
                                     Length(max=NOTE_MAX)],
                         description="Refer to the child by case id. Do not include names.")
    due = DateField("New due date, if the quality is not met (optional)", widget=GovDateInput(), format="%d %m %Y",
                    validators=[Optional()],
                    description="For example, 27 1 2027. Left empty, the framework's default is used.")
    submit = SubmitField("Confirm", widget=GovSubmitInput())


def _facts(session: Session, ctx: AppContext, link: Link) -> dict:
    action = get_action(session, link.subject_ref)
    audit = action.audit
    return {"action": action, "audit_ref": audit.reference, "case_id": audit.child_id,
            "description": Redactor.about(session, audit.child)(action.description),
            "due_label": day_label(action.due_date), "owner_name": action.owner.name}


def _show_done(session: Session, ctx: AppContext, link: Link) -> dict:
    return {**_facts(session, ctx, link), "caption": f"Action {link.subject_ref}",
            "title": "Record the action as done"}


def _show_sign_off(session: Session, ctx: AppContext, link: Link) -> dict:
    return {**_facts(session, ctx, link), "caption": f"Action {link.subject_ref}", "title": "Sign off the action"}


def _done(session: Session, ctx: AppContext, link: Link, form: ActionDoneForm) -> str:
    mark_done(session, ctx, reference=link.subject_ref, by=link.staff_id, note=form.note.data)
    return f"Action {link.subject_ref} is recorded as done. Its owner's line manager has been asked to sign it off."


def _sign_off(session: Session, ctx: AppContext, link: Link, form: ActionSignOffForm) -> str:
    quality = form.quality.data
    due: date | None = form.due.data
    if quality == "met" and due is not None:
        raise FieldProblem("due", "Leave the new due date empty when the quality is met")
    if due is not None:
        today = ctx.timescales.today(ctx.now)
        if problem := ctx.timescales.action_due_problem(due, today, since="today"):
            raise FieldProblem("due", f"The new due date {problem}")
    action = sign_off(session, ctx, reference=link.subject_ref, by=link.staff_id, quality=quality,
                      note=form.note.data, new_due=due)
    if action.status == ActionStatus.OPEN:
        return (f"Action {link.subject_ref} is reopened, now due on {day_label(action.due_date)}. "
                "Its owner has been told why.")
    return f"Action {link.subject_ref} is signed off."


journey(Journey("action-done", "journeys/action_done.html", ActionDoneForm, _show_done, _done))
journey(Journey("action-sign-off", "journeys/action_sign_off.html", ActionSignOffForm, _show_sign_off, _sign_off))
