"""Record the follow-up to an audit trend: the page each person a trend flag was sent to reaches from it."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput, GovTextArea
from sqlalchemy.orm import Session
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from auditcycle.core.context import AppContext
from auditcycle.models import Link
from auditcycle.notifications.notices import moment_label, month_label
from auditcycle.report.data import FLAG_LABELS
from auditcycle.trends.follow_up import (
    CONTRIBUTED_MAX,
    FOLLOW_UP_LINK,
    NOTE_MAX,
    OUTCOMES,
    FollowUpRefused,
    flag_summary,
    follow_up_state,
    get_flag,
    record_follow_up,
)
from auditcycle.web.acts import FieldProblem, Journey, journey


class FollowUpForm(FlaskForm):
    """What contributed to the grade, what follows, and a note."""

    contributed = TextAreaField("What contributed to the Inadequate grade?", widget=GovTextArea(),
                                validators=[DataRequired(message="Enter what contributed to the grade"),
                                            Length(max=CONTRIBUTED_MAX, message=f"What contributed must be "
                                                   f"{CONTRIBUTED_MAX:,} characters or fewer")],
                                description="What the closer look at the audits found. Refer to any child by case "
                                            "id. Do not include names.")
    outcome = RadioField("What follows?", widget=GovRadioInput(), choices=list(OUTCOMES.items()),
                         validators=[InputRequired(message="Select what follows")])
    note = TextAreaField("Note", widget=GovTextArea(),
                         validators=[Optional(), Length(max=NOTE_MAX,
                                                        message=f"The note must be {NOTE_MAX:,} characters or fewer")],
                         description="Who is involved and by when; if no further action, why not. Optional "
                                     "otherwise. Do not include names of children or families.")
    submit = SubmitField("Record the follow-up", widget=GovSubmitInput())


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    flag = get_flag(session, link.subject_ref)
    title, audit_count = flag_summary(flag)
    kind = FLAG_LABELS.get(flag.kind, flag.kind.replace("_", " ").capitalize())
    # The audits the flag names are listed in the email; the page shows how many, not which children.
    return {"caption": f"Audit trend {link.subject_ref}, {month_label(flag.month)}",
            "title": "Record the follow-up to an audit trend", "kind": kind, "trend": title,
            "audit_count": audit_count, "raised_label": moment_label(flag.raised_at, ctx.tz),
            "done": follow_up_state(flag, ctx)}


def _record(session: Session, ctx: AppContext, link: Link, form: FollowUpForm) -> str:
    try:
        record_follow_up(session, ctx, reference=link.subject_ref, by=link.staff_id,
                         contributed=form.contributed.data, outcome=form.outcome.data, note=form.note.data)
    except FollowUpRefused as refused:
        if refused.field_name is None:
            raise
        raise FieldProblem(refused.field_name, str(refused)) from None
    return (f"The follow-up to {link.subject_ref} is recorded: {OUTCOMES[form.outcome.data].lower()}. "
            "The QA managers have been told.")


journey(Journey(FOLLOW_UP_LINK, "journeys/trend_follow_up.html", FollowUpForm, _show, _record))
