""""I can't make this time", from any meeting invite: the booking rules find the next time that suits everyone."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea
from sqlalchemy.orm import Session
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from auditcycle.booking.meetings import CANT_MAKE, REASON_MAX, cant_make, cant_make_subject, get_meeting, meeting_title
from auditcycle.core.context import AppContext
from auditcycle.models import Link
from auditcycle.models.enums import MeetingStatus
from auditcycle.notifications.notices import moment_label
from auditcycle.web.acts import Journey, journey


class CantMakeForm(FlaskForm):
    """Why, optionally: it goes to everyone invited with the new time."""

    reason = TextAreaField("Why you cannot make it (optional)", widget=GovTextArea(),
                           validators=[Optional(), Length(max=REASON_MAX)],
                           description="Everyone invited is told this with the new time. Refer to the child by "
                                       "case id. Do not include names.")
    submit = SubmitField("Find another time", widget=GovSubmitInput())


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    reference, sequence = cant_make_subject(link.subject_ref)
    meeting = get_meeting(session, reference)
    audit = meeting.audit
    return {"caption": f"Meeting {reference}", "title": "Ask for another time",
            "what": meeting_title(meeting), "audit_ref": audit.reference, "case_id": audit.child_id,
            "when_label": moment_label(meeting.starts_at, ctx.tz),
            "moved": meeting.sequence != sequence, "cancelled": meeting.status != MeetingStatus.BOOKED}


def _act(session: Session, ctx: AppContext, link: Link, form: CantMakeForm) -> str:
    reference, sequence = cant_make_subject(link.subject_ref)
    meeting = cant_make(session, ctx, reference=reference, by=link.staff_id, reason=form.reason.data,
                        sequence=sequence)
    return (f"{reference} has moved to {moment_label(meeting.starts_at, ctx.tz)}. Everyone invited is being sent "
            "the updated invitation.")


journey(Journey(CANT_MAKE, "journeys/meeting_cant_make.html", CantMakeForm, _show, _act))
