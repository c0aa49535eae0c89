"""The audit form for the audit's auditor: the page builds the same form a JSON file holds and submits it the same way.

Every rule is the domain's (auditcycle.submissions): this page only turns fields into the form's JSON shape
and the domain's refusals ("actions.0.due: ...") back into messages beside the fields they name.
"""
from functools import lru_cache

from flask import current_app
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovDateInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Optional

from auditcycle.actions.owners import owner_choices
from auditcycle.core.clock import iso_day
from auditcycle.core.context import AppContext
from auditcycle.core.settings import FrameworkSettings
from auditcycle.models import Link, Submission
from auditcycle.notices.queue import KIND_LABELS
from auditcycle.notifications.notices import day_label
from auditcycle.privacy.redaction import Redactor
from auditcycle.storage.records import get_audit
from auditcycle.submissions.drafts import form_to_show, save_draft
from auditcycle.submissions.forms import FormError
from auditcycle.submissions.submit import may_not_apply, submit
from auditcycle.web.acts import FieldProblems, Journey, journey

ACTION_ROWS = 3
MAX_ACTION_ROWS = 20
CONVERSATIONS = {
    "learning_conversation": "Learning conversation with the key worker",
    "iro_cp_chair": "Conversation with the IRO or CP chair",
    "team_manager": "Conversation with the team manager",
}
NO_NAMES = "Refer to the child by case id. Do not include names."


class ActionRowForm(Form):
    """One action: what is to be done, by whom, by when."""

    description = TextAreaField("What is to be done", widget=GovTextArea(), validators=[Optional()])
    owner = SelectField("Owner", widget=GovSelect(), validate_choice=False, choices=[])
    due = DateField("Due date", widget=GovDateInput(), format="%d %m %Y", validators=[Optional()],
                    description="For example, 27 1 2027")


@lru_cache(maxsize=8)
def _form_class(domains: tuple[tuple[str, str], ...], grades: tuple[tuple[str, str], ...],
                optional: tuple[str, ...]) -> type[FlaskForm]:
    """The form for a framework's domains and grades (a council's own come from its settings)."""
    choices = list(grades)
    fields: dict = {}
    for slug, label in domains:
        fields[f"grade_{slug}"] = RadioField(f"Grade for {label}", choices=choices, validate_choice=False,
                                             widget=GovRadioInput(), validators=[Optional()])
        fields[f"evidence_{slug}"] = TextAreaField(f"Evidence for {label}", widget=GovTextArea(),
                                                   validators=[Optional()], description=NO_NAMES)
        if slug in optional:
            fields[f"na_{slug}"] = BooleanField(f"{label} does not apply to this audit", widget=GovCheckboxInput())
            fields[f"na_reason_{slug}"] = TextAreaField("Why it does not apply", widget=GovTextArea(),
                                                        validators=[Optional()])
    fields["overall"] = RadioField("Overall grade", choices=choices, validate_choice=False, widget=GovRadioInput(),
                                   validators=[Optional()],
                                   description="Has intervention made a difference or not?")
    fields["strengths"] = TextAreaField("Strengths", widget=GovTextArea(), validators=[Optional()],
                                        description=NO_NAMES)
    fields["practitioner_feedback"] = TextAreaField("Feedback for the practitioner", widget=GovTextArea(),
                                                    validators=[Optional()], description=NO_NAMES)
    fields["actions"] = FieldList(FormField(ActionRowForm), min_entries=ACTION_ROWS, max_entries=MAX_ACTION_ROWS)
    for kind, label in CONVERSATIONS.items():
        fields[f"conv_{kind}_on"] = DateField(f"{label}: date held", widget=GovDateInput(), format="%d %m %Y",
                                              validators=[Optional()], description="Leave empty if not held")
        fields[f"conv_{kind}_minutes"] = IntegerField(f"{label}: length in minutes", widget=GovTextInput(),
                                                      validators=[Optional()])
    fields["immediate_response"] = TextAreaField(
        "Immediate Response (optional)", widget=GovTextArea(), validators=[Optional()],
        description="Only if there is a safeguarding concern, or no supervision for 6 months or more: what it is. "
                    + NO_NAMES)
    fields["disagreement"] = BooleanField("The practitioner disagrees with the grade", widget=GovCheckboxInput())
    fields["submit"] = SubmitField("Submit the audit form", widget=GovSubmitInput())
    fields["save"] = SubmitField("Save and return later", widget=GovSubmitInput())
    return type("AuditFormPage", (FlaskForm,), fields)


def _framework() -> FrameworkSettings:
    return current_app.config["AUDITCYCLE_SETTINGS"].framework


def audit_form(**kwargs) -> FlaskForm:
    """Make the audit form page's form for the site's framework."""
    framework = _framework()
    cls = _form_class(tuple(framework.domains.items()), tuple(framework.grades.items()),
                      tuple(framework.not_applicable_domains))
    return cls(**kwargs)


def _prepare(session: Session, ctx: AppContext, link: Link, form: FlaskForm) -> None:
    named = [row.form.owner.data for row in form.actions.entries if row.form.owner.data]
    staff = [("", "Choose the owner"), *owner_choices(session, get_audit(session, link.subject_ref), named)]
    for row in form.actions.entries:
        row.form.owner.choices = staff


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    audit = get_audit(session, link.subject_ref)
    framework = ctx.settings.framework
    submission = session.scalar(select(Submission).where(Submission.audit_id == audit.id))
    return {
        "caption": f"Audit {audit.reference}", "title": "Audit form", "audit_ref": audit.reference,
        "case_id": audit.child_id, "initials": audit.child.initials, "kind_label": KIND_LABELS[audit.kind],
        "due_label": day_label(audit.due_date), "version": submission.version if submission else None,
        "draft": audit.form_draft is not None, "may_not_apply": may_not_apply(ctx, audit),
        "domains": [(slug, label, framework.questions.get(slug, [])) for slug, label in framework.domains.items()],
        "conversations": list(CONVERSATIONS), "max_days": framework.action_max_days,
    }


def _prefill(session: Session, ctx: AppContext, link: Link) -> dict:
    """The form's fields from the draft saved last, or the form as submitted; its free text through the redactor."""
    audit = get_audit(session, link.subject_ref)
    redact = Redactor.about(session, audit.child)
    stored = form_to_show(session, audit.reference)

    def text(value: object) -> str:
        return str(redact(value)) if isinstance(value, str) and value else ""

    def obj(key: str) -> dict:
        return stored.get(key) if isinstance(stored.get(key), dict) else {}

    def rows(key: str) -> list:
        return [r for r in stored.get(key) or [] if isinstance(r, dict)] if isinstance(stored.get(key), list) else []

    data: dict = {"overall": stored.get("overall"), "strengths": text(stored.get("strengths")),
                  "practitioner_feedback": text(stored.get("practitioner_feedback")),
                  "disagreement": bool(stored.get("disagreement")),
                  "immediate_response": text(obj("immediate_response").get("reason"))}
    for slug, grade in obj("grades").items():
        data[f"grade_{slug}"] = grade
    for slug, evidence in obj("evidence").items():
        data[f"evidence_{slug}"] = text(evidence)
    for slug, reason in obj("not_applicable").items():
        data[f"na_{slug}"], data[f"na_reason_{slug}"] = True, text(reason)
    data["actions"] = [{"description": text(a.get("description")), "owner": a.get("owner_id") or "",
                        "due": iso_day(a.get("due"))} for a in rows("actions")][:MAX_ACTION_ROWS]
    data["actions"] += [{}] * max(0, ACTION_ROWS - len(data["actions"]))
    for held in rows("conversations"):
        if held.get("kind") in CONVERSATIONS:
            data[f"conv_{held['kind']}_on"] = iso_day(held.get("held_on"))
            data[f"conv_{held['kind']}_minutes"] = held.get("minutes")
    return data


def _as_submitted(form: FlaskForm, domains: list[str], offered: list[str]) -> tuple[dict, list[int], list[str]]:
    """The form's JSON shape from the page's fields; with the page row of each action and the kind of each conversation."""
    data: dict = {"grades": {}, "evidence": {}, "not_applicable": {}}
    for slug in domains:
        if form[f"grade_{slug}"].data:
            data["grades"][slug] = form[f"grade_{slug}"].data
        if (form[f"evidence_{slug}"].data or "").strip():
            data["evidence"][slug] = form[f"evidence_{slug}"].data
        if slug in offered and f"na_{slug}" in form and form[f"na_{slug}"].data:
            data["not_applicable"][slug] = form[f"na_reason_{slug}"].data or ""
    if form.overall.data:
        data["overall"] = form.overall.data
    data["strengths"] = form.strengths.data or ""
    data["practitioner_feedback"] = form.practitioner_feedback.data or ""
    data["actions"], rows = [], []
    for number, row in enumerate(form.actions.entries):
        fields = row.form
        if (fields.description.data or "").strip() or fields.owner.data or fields.due.data:
            rows.append(number)
            data["actions"].append({"description": fields.description.data or "", "owner_id": fields.owner.data or "",
                                    "due": fields.due.data.isoformat() if fields.due.data else ""})
    data["conversations"], kinds = [], []
    for kind in CONVERSATIONS:
        held_on, minutes = form[f"conv_{kind}_on"].data, form[f"conv_{kind}_minutes"].data
        if held_on or minutes is not None:
            kinds.append(kind)
            data["conversations"].append({"kind": kind, "held_on": held_on.isoformat() if held_on else "",
                                          "minutes": minutes if minutes is not None else 0})
    reason = (form.immediate_response.data or "").strip()
    data["immediate_response"] = {"reason": reason} if reason else None
    data["disagreement"] = bool(form.disagreement.data)
    return data, rows, kinds


ACTION_FIELDS = {"description": ("description", "what is to be done"), "owner_id": ("owner", "owner"),
                 "due": ("due", "due date")}
CONVERSATION_FIELDS = {"held_on": ("on", "date held"), "minutes": ("minutes", "length in minutes")}
TOP_FIELDS = {"overall": "Overall grade", "strengths": "Strengths",
              "practitioner_feedback": "Feedback for the practitioner", "disagreement": "Disagreement"}


def _where(path: list[str], labels: dict[str, str], rows: list[int], kinds: list[str]) -> tuple[str | None, str]:
    """The page's field for a place in the form's JSON ("actions.0.due"), and how to name it to a person."""
    head, rest = path[0], path[1:]
    if head in ("grades", "evidence", "not_applicable") and rest and rest[0] in labels:
        label = labels[rest[0]]
        return {"grades": (f"grade_{rest[0]}", label), "evidence": (f"evidence_{rest[0]}", f"{label}, evidence"),
                "not_applicable": (f"na_reason_{rest[0]}", f"{label}, why it does not apply")}[head]
    if head == "actions" and rest and rest[0].isdigit() and int(rest[0]) < len(rows):
        row = rows[int(rest[0])]
        name, label = ACTION_FIELDS.get(rest[1] if len(rest) > 1 else "", ("description", ""))
        return f"actions-{row}-{name}", f"Action {row + 1}" + (f", {label}" if label else "")
    if head == "conversations" and rest and rest[0].isdigit() and int(rest[0]) < len(kinds):
        kind = kinds[int(rest[0])]
        name, label = CONVERSATION_FIELDS.get(rest[1] if len(rest) > 1 else "", ("on", "date held"))
        return f"conv_{kind}_{name}", f"{CONVERSATIONS[kind]}, {label}"
    if head == "immediate_response":
        return "immediate_response", "Immediate Response"
    if head in TOP_FIELDS:
        return head, TOP_FIELDS[head]
    return None, ""


def _refusal(error: FormError, labels: dict[str, str], rows: list[int], kinds: list[str]) -> FieldProblems:
    """The domain's list of problems, each beside the field it names where the page has one."""
    placed: list[tuple[str | None, str]] = []
    for problem in error.problems:
        where, _, message = problem.partition(": ")
        name, label = _where(where.split("."), labels, rows, kinds)
        # The domain words these for a JSON file's author; on the page the field already names the domain.
        if message.startswith("not graded") or (message == "Field required" and where == "overall"):
            message = "choose a grade"
        elif message == "Field required" or message.startswith("String should have at least 1 character"):
            message = "choose one" if name and name.endswith("owner") else "enter it"
        elif message.startswith("not a date;"):
            message = "enter the date"  # the page's date fields are read as dates; only an empty one gets here
        placed.append((name, f"{label}: {message}" if label else problem))
    return FieldProblems(placed)


def _act(session: Session, ctx: AppContext, link: Link, form: FlaskForm) -> str:
    audit = get_audit(session, link.subject_ref)
    framework = ctx.settings.framework
    data, rows, kinds = _as_submitted(form, list(framework.domains), may_not_apply(ctx, audit))
    # The page has no rows for family contacts yet: a form submitted again keeps those submitted before.
    previous = session.scalar(select(Submission.form).where(Submission.audit_id == audit.id)) or {}
    data["family_feedback"] = previous.get("family_feedback", [])
    if form.save.data:
        save_draft(session, ctx, reference=audit.reference, data=data, by=link.staff_id)
        return (f"Your form for audit {audit.reference} is saved. Open the link in your email again to finish it; "
                "nothing is submitted until you submit it.")
    try:
        submission = submit(session, ctx, reference=audit.reference, data=data, by=link.staff_id, source="the form")
    except FormError as error:
        raise _refusal(error, dict(framework.domains), rows, kinds) from None
    again = f" (version {submission.version})" if submission.version > 1 else ""
    return (f"The audit form for {audit.reference} is submitted{again}. The key worker, their team manager and "
            "any IRO or CP chair are told the outcome. You can change it and submit it again until moderation.")


journey(Journey("audit-form", "journeys/audit_form.html", audit_form, _show, _act, prefill=_prefill,
                single_use=False, prepare=_prepare))
