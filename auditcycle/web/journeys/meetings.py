""""I can't make this time", from the invite of any kind of meeting: its own rules find the next time, or, for
the learning session, the apology is recorded."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea
from sqlalchemy.orm import Session
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from auditcycle.booking.meetings import CANT_MAKE, cant_make_subject
from auditcycle.core.context import AppContext
from auditcycle.invitations.cant_make import BOOKED_STATUS, REASON_MAX, Invited, cant_make, find_invited
from auditcycle.models import Link
from auditcycle.notifications.notices import moment_label
from auditcycle.web.acts import Journey, journey


class CantMakeForm(FlaskForm):
    """Why, optionally: it goes to everyone invited with the new time."""

    reason = TextAreaField("Why you cannot make it (optional)", widget=GovTextArea(),
                           validators=[Optional(), Length(max=REASON_MAX)],
                           description="Everyone invited is told this with the new time. Refer to the child by "
                                       "case id. Do not include names.")
    submit = SubmitField("Find another time", widget=GovSubmitInput())


def _invited(session: Session, ctx: AppContext, link: Link) -> Invited:
    reference, _ = cant_make_subject(link.subject_ref)
    return find_invited(session, ctx, reference)


def _prepare(session: Session, ctx: AppContext, link: Link, form: CantMakeForm) -> None:
    it = _invited(session, ctx, link)
    if link.staff_id in it.optional_ids:
        form.reason.description = "The auditor is told this. Refer to the child by case id. Do not include names."
        form.submit.label.text = "Say I can't come"
    elif not it.moves_for(link.staff_id):
        form.reason.description = "The Quality Assurance team is told this. Do not include names."
        form.submit.label.text = "Send my apologies"


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    _, sequence = cant_make_subject(link.subject_ref)
    it = _invited(session, ctx, link)
    optional = link.staff_id in it.optional_ids
    title = "Say you cannot come" if optional else "Send your apologies"
    return {"caption": f"Meeting {it.reference}", "title": "Ask for another time" if it.moves_for(link.staff_id) else title,
            "optional": optional,
            "kind": it.kind, "what": it.title, "window": it.window,
            "audit_ref": it.audit.reference if it.audit else None, "case_id": it.audit.child_id if it.audit else None,
            "when_label": moment_label(it.starts_at, ctx.tz),
            "moved": it.sequence != sequence, "cancelled": it.status != BOOKED_STATUS}


def _act(session: Session, ctx: AppContext, link: Link, form: CantMakeForm) -> str:
    reference, sequence = cant_make_subject(link.subject_ref)
    it = cant_make(session, ctx, reference=reference, by=link.staff_id, reason=form.reason.data, sequence=sequence)
    if link.staff_id in it.optional_ids:
        return (f"Your answer is recorded and the auditor has been told. {it.title} stays at "
                f"{moment_label(it.starts_at, ctx.tz)}: as an optional attendee, you are not needed for it to go ahead.")
    if not it.moves_for(link.staff_id):
        return (f"Your apologies are recorded and the Quality Assurance team has been told. {it.title} stays at "
                f"{moment_label(it.starts_at, ctx.tz)} for everyone else.")
    return (f"{reference} has moved to {moment_label(it.starts_at, ctx.tz)}. Everyone invited is being sent "
            "the updated invitation.")


journey(Journey(CANT_MAKE, "journeys/meeting_cant_make.html", CantMakeForm, _show, _act, prepare=_prepare))
