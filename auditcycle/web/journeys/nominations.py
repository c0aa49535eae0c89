"""Nominate an example of good practice: the service manager's page, from the QA team's ask for the month.

The page asks for one case id and the reason; it never lists the service's children (a link page shows one
child's record at most), and after the nomination it shows the case id and initials only.
"""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea, GovTextInput
from sqlalchemy.orm import Session
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from auditcycle.core.context import AppContext
from auditcycle.core.errors import PermissionDenied
from auditcycle.models import Child, Link, Service, Staff
from auditcycle.notifications.notices import day_label, moment_label
from auditcycle.sampling.cycle import monthly_cycle
from auditcycle.sampling.nominations import (
    CASE_ID,
    NOMINATE_LINK,
    REASON_MAX,
    NominationRefused,
    nominate,
    nomination_deadline,
    nominations_of,
    parse_ask_ref,
)
from auditcycle.sampling.schedule import draw_day
from auditcycle.web.acts import FieldProblem, Journey, journey

CASE_ID_MAX = 40


class GoodPracticeForm(FlaskForm):
    """The child's case id, and why their record is an example of good practice."""

    case_id = StringField("The child's case id", widget=GovTextInput(),
                          validators=[DataRequired(message="Enter the child's case id"),
                                      Length(max=CASE_ID_MAX, message=f"Enter at most {CASE_ID_MAX} characters")],
                          description="For example, C000123. Give the case id only, not the child's name.")
    reason = TextAreaField("Why is this record an example of good practice?", widget=GovTextArea(),
                           validators=[DataRequired(message="Enter why the record is an example of good practice"),
                                       Length(max=REASON_MAX,
                                              message=f"The reason must be {REASON_MAX:,} characters or fewer")],
                           description="What the practice achieved for the child, and what others can learn from "
                                       "it. Refer to the child by case id. Do not include names.")
    submit = SubmitField("Nominate", widget=GovSubmitInput())


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    month, service_id = parse_ask_ref(link.subject_ref)
    service = session.get(Service, service_id)
    limit = ctx.settings.framework.good_practice_per_service
    made = nominations_of(session, month=month, service_id=service_id)
    drawn = monthly_cycle(session, month) is not None
    nominated = [(f"{n.child_id} ({session.get(Child, n.child_id).initials})",
                  f"by {session.get(Staff, n.nominated_by_id).name} at {moment_label(n.nominated_at, ctx.tz)}")
                 for n in made]
    return {"caption": f"{month.label} audits, {service.name}", "title": "Nominate an example of good practice",
            "month_label": month.label, "asked_service": service.name, "limit": limit, "nominated": nominated,
            "deadline_label": moment_label(nomination_deadline(ctx, month), ctx.tz),
            "draw_label": day_label(draw_day(ctx.timescales, month)), "drawn": drawn,
            "open": not drawn and len(made) < limit,
            "exclusion_months": ctx.settings.framework.reaudit_exclusion_months}


def _nominate(session: Session, ctx: AppContext, link: Link, form: GoodPracticeForm) -> str:
    month, _ = parse_ask_ref(link.subject_ref)
    try:
        nomination = nominate(session, ctx, child_id=form.case_id.data, by=link.staff_id, month=month,
                              reason=form.reason.data)
    except NominationRefused as refused:
        if refused.field_name is None:
            raise
        raise FieldProblem(refused.field_name, str(refused)) from None
    except PermissionDenied as refused:
        # The case id typed is of a child in another service: the table says who may nominate it.
        raise FieldProblem(CASE_ID, str(refused)) from None
    child = session.get(Child, nomination.child_id)
    return (f"{child.id} ({child.initials}) is nominated as good practice for the {month.label} audits. "
            "It is audited as good practice that month.")


journey(Journey(NOMINATE_LINK, "journeys/good_practice.html", GoodPracticeForm, _show, _nominate, single_use=False))
