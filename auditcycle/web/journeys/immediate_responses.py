"""Respond to an Immediate Response, for the service manager of the child's team or an assistant director."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea
from sqlalchemy.orm import Session
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from auditcycle.core.context import AppContext
from auditcycle.immediate_responses.lifecycle import RESPOND, get_response, respond
from auditcycle.models import Link
from auditcycle.models.enums import ResponseStatus
from auditcycle.notifications.notices import moment_label
from auditcycle.privacy.redaction import Redactor
from auditcycle.web.acts import Journey, journey

NOTE_MAX = 4000


class RespondForm(FlaskForm):
    """What has been done in response."""

    note = TextAreaField("What has been done", widget=GovTextArea(),
                         validators=[DataRequired(message="Enter what has been done in response"),
                                     Length(max=NOTE_MAX, message=f"Enter at most {NOTE_MAX} characters")],
                         description="Say what has been done to keep the child safe. Refer to the child by case "
                                     "id. Do not include names.")
    submit = SubmitField("Send the response", widget=GovSubmitInput())


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    ir = get_response(session, link.subject_ref)
    audit = ir.audit
    redact = Redactor.about(session, audit.child)
    answered = ir.status == ResponseStatus.RESPONDED
    return {"caption": f"Immediate Response {ir.reference}", "title": "Respond to the Immediate Response",
            "response_ref": ir.reference, "audit_ref": audit.reference, "case_id": audit.child_id,
            "team": audit.child.team.name, "reason": redact(ir.reason),
            "raised_label": moment_label(ir.raised_at, ctx.tz),
            "raised_by": ir.raised_by.name if ir.raised_by else "the supervision check, raised automatically",
            "deadline_label": moment_label(ir.deadline_at, ctx.tz),
            "escalated_label": moment_label(ir.escalated_at, ctx.tz) if ir.escalated_at else None,
            "hours": ctx.settings.framework.immediate_response_hours, "answered": answered,
            "responder_name": ir.responded_by.name if answered and ir.responded_by else None,
            "responded_label": moment_label(ir.responded_at, ctx.tz) if answered else None}


def _respond(session: Session, ctx: AppContext, link: Link, form: RespondForm) -> str:
    ir = respond(session, ctx, reference=link.subject_ref, by=link.staff_id, note=form.note.data)
    same_day = " the same day it was raised" if ir.same_day else ""
    return (f"Your response to Immediate Response {ir.reference} is recorded{same_day}. "
            "The person who raised it and the QA team have been told.")


journey(Journey(RESPOND, "journeys/ir_respond.html", RespondForm, _show, _respond))
