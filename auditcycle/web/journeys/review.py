"""The QA manager's review of a drawn monthly list: the list by case id, and the approval that lets the notices go."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import SubmitField

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.models import AuditCycle, Link, Staff
from auditcycle.notices.review import approve_list, listed_audits
from auditcycle.notifications.notices import moment_label, month_label
from auditcycle.web.acts import Journey, journey


class ApproveListForm(FlaskForm):
    """One button: approve the list."""

    submit = SubmitField("Approve the list", widget=GovSubmitInput())


def _cycle(session: Session, reference: str) -> AuditCycle:
    cycle = session.scalar(select(AuditCycle).where(AuditCycle.reference == reference))
    if cycle is None:
        raise UserError(f"{reference}: no audit list has that reference")
    return cycle


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    cycle = _cycle(session, link.subject_ref)
    label = month_label(Month.parse(cycle.month))
    closes = moment_label(cycle.list_review_closes_at, ctx.tz) if cycle.list_review_closes_at else None
    return {"caption": f"{label} audits", "title": "Review and approve the list", "rows": listed_audits(session, cycle),
            "closes_label": closes, "approved": cycle.list_approved_at is not None}


def _act(session: Session, ctx: AppContext, link: Link, form: ApproveListForm) -> str:
    cycle = _cycle(session, link.subject_ref)
    label = month_label(Month.parse(cycle.month))
    if not approve_list(session, ctx, cycle=cycle, by=link.staff_id):
        approver = session.get(Staff, cycle.list_approved_by_id) if cycle.list_approved_by_id else None
        who = approver.name if approver else "another QA manager"
        return f"The {label} list was already approved by {who} at {moment_label(cycle.list_approved_at, ctx.tz)}."
    return f"The {label} list is approved. Its notices go with the next notify run."


journey(Journey("approve-list", "journeys/approve_list.html", ApproveListForm, _show, _act))
