"""Confirm or dismiss a supervision gap the records show, for the audit's auditor."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput, GovTextArea
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from auditcycle.core.context import AppContext
from auditcycle.immediate_responses.supervision_gaps import COMMAND, decide_gap, since_label
from auditcycle.models import Link, SupervisionGap
from auditcycle.models.enums import SupervisionGapStatus
from auditcycle.notifications.notices import moment_label
from auditcycle.storage.records import get_audit
from auditcycle.web.acts import Journey, journey

REASON_MAX = 4000


class SupervisionGapForm(FlaskForm):
    """The auditor's finding, and what it rests on."""

    decision = RadioField("Is there a supervision gap?", widget=GovRadioInput(),
                          choices=[("confirm", "Confirm the gap: raise the Immediate Response"),
                                   ("dismiss", "Dismiss it: it is not a gap")],
                          validators=[InputRequired(message="Select whether you confirm or dismiss the gap")])
    reason = TextAreaField("What the records and the conversation with the team manager showed", widget=GovTextArea(),
                           validators=[DataRequired(message="Enter what the records and the conversation with the "
                                                            "team manager showed"),
                                       Length(max=REASON_MAX, message=f"Enter at most {REASON_MAX} characters")],
                           description="For a dismissal, say why it is not a gap (for example, supervision recorded "
                                       "elsewhere). Refer to the child by case id. Do not include names.")
    submit = SubmitField("Record the finding", widget=GovSubmitInput())


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    audit = get_audit(session, link.subject_ref)
    gap = session.scalar(select(SupervisionGap).where(SupervisionGap.audit_id == audit.id))
    decided = gap is not None and gap.status != SupervisionGapStatus.SUSPECTED
    return {"caption": f"Audit {audit.reference}", "title": "Confirm or dismiss the supervision gap",
            "audit_ref": audit.reference, "case_id": audit.child_id, "team": audit.child.team.name,
            "shown": since_label(gap) if gap else "no supervision gap",
            "gap_months": ctx.settings.framework.supervision_gap_months,
            "hours": ctx.settings.framework.immediate_response_hours,
            "decide_by_label": moment_label(gap.decide_by, ctx.tz) if gap else None,
            "decided": gap.status.value.replace("_", " ") if decided else None,
            "decided_label": moment_label(gap.decided_at, ctx.tz) if decided else None}


def _decide(session: Session, ctx: AppContext, link: Link, form: SupervisionGapForm) -> str:
    gap = decide_gap(session, ctx, reference=link.subject_ref, decision=form.decision.data, reason=form.reason.data,
                     by=link.staff_id)
    if gap.response is not None:
        return (f"The supervision gap on audit {link.subject_ref} is confirmed. Immediate Response "
                f"{gap.response.reference} is raised and the service manager has been told.")
    return f"The supervision gap on audit {link.subject_ref} is dismissed. Your reason is kept with the audit."


journey(Journey(COMMAND, "journeys/supervision_gap.html", SupervisionGapForm, _show, _decide))
