"""How to reach the family: the key worker's advice on each family contact, before the calls are booked."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput, GovTextArea, GovTextInput
from sqlalchemy.orm import Session
from wtforms import FieldList, Form, FormField, IntegerField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import HiddenInput

from auditcycle.booking.family_advice import (
    BEST_TIMES_MAX,
    LANGUAGE_MAX,
    REASON_MAX,
    ContactAdviceInput,
    advice_due_at,
    family_contacts,
    record_advice,
)
from auditcycle.core.context import AppContext
from auditcycle.models import FamilyAdvice, Link
from auditcycle.notifications.notices import moment_label
from auditcycle.storage.records import get_audit
from auditcycle.web.acts import Journey, journey


class ContactForm(Form):
    """The advice on one family contact (a sub-form: the page's one CSRF token covers it)."""

    contact_id = IntegerField(widget=HiddenInput())
    language = StringField("Language they prefer (optional)", widget=GovTextInput(),
                           validators=[Length(max=LANGUAGE_MAX)], description="For example, Polish")
    interpreter = RadioField("Is an interpreter needed?", widget=GovRadioInput(),
                             choices=[("yes", "Yes"), ("no", "No")],
                             validators=[InputRequired(message="Select whether an interpreter is needed")])
    best_times = StringField("Best times to call (optional)", widget=GovTextInput(),
                             validators=[Optional(), Length(max=BEST_TIMES_MAX)],
                             description="For example, weekday mornings after 10. Do not include names.")
    do_not_contact_reason = TextAreaField("Reason not to contact them (optional)", widget=GovTextArea(),
                                          validators=[Optional(), Length(max=REASON_MAX)],
                                          description="Leave empty if the auditor may call. The reason is kept "
                                                      "for the QA team and is not sent by email.")

    def validate_language(self, field: StringField) -> None:
        """Ask for the language when an interpreter is needed: Language Line is booked for one."""
        if self.interpreter.data == "yes" and not (field.data or "").strip():
            raise ValidationError("Enter the language the interpreter is needed for")


class FamilyAdviceForm(FlaskForm):
    """The advice on every family contact of the audit."""

    contacts = FieldList(FormField(ContactForm), min_entries=0)
    submit = SubmitField("Send the advice to the auditor", widget=GovSubmitInput())


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    audit = get_audit(session, link.subject_ref)
    advice = session.get(FamilyAdvice, audit.id)
    contacts = {c.id: f"{c.relation} ({c.initials})" for c in family_contacts(ctx, audit)}
    return {"caption": f"Audit {audit.reference}, case {audit.child_id} ({audit.child.initials})",
            "title": "How to reach the family", "contacts": contacts,
            "auditor_name": audit.auditor.name if audit.auditor else "the auditor",
            "wait_label": moment_label(advice_due_at(ctx, advice), ctx.tz) if advice else None}


def _prefill(session: Session, ctx: AppContext, link: Link) -> dict:
    audit = get_audit(session, link.subject_ref)
    return {"contacts": [{"contact_id": c.id, "language": c.language,
                          "interpreter": "yes" if c.interpreter_needed else None}
                         for c in family_contacts(ctx, audit)]}


def _act(session: Session, ctx: AppContext, link: Link, form: FamilyAdviceForm) -> str:
    entries = [entry.form for entry in form.contacts]
    record_advice(session, ctx, reference=link.subject_ref, by=link.staff_id, contacts=[
        ContactAdviceInput(contact_id=entry.contact_id.data, language=entry.language.data,
                           interpreter_needed=entry.interpreter.data == "yes", best_times=entry.best_times.data,
                           do_not_contact_reason=entry.do_not_contact_reason.data) for entry in entries])
    return f"Thank you. The family calls for {link.subject_ref} will be booked on your advice."


journey(Journey("family-contact", "journeys/family_contact.html", FamilyAdviceForm, _show, _act, prefill=_prefill))
