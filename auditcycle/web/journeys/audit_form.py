"""The audit form for the audit's auditor: the page builds the same form a JSON file holds and submits it the same way.

Every rule is the domain's (auditcycle.submissions): this page only turns fields into the form's JSON shape
and the domain's refusals ("actions.0.due: ...") back into messages beside the fields they name. Each call
booked with a family contact or the young person has its row, which names the call by its meeting's reference.
"""
from dataclasses import dataclass, field
from functools import lru_cache

from flask import current_app
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
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
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Optional
from wtforms.widgets import HiddenInput

from auditcycle.actions.owners import owner_choices
from auditcycle.core.clock import iso_day
from auditcycle.core.context import AppContext
from auditcycle.core.settings import FrameworkSettings
from auditcycle.models import Link, Submission
from auditcycle.notices.queue import KIND_LABELS
from auditcycle.notifications.notices import day_label, moment_label
from auditcycle.privacy.redaction import Redactor
from auditcycle.storage.records import get_audit
from auditcycle.submissions.booked import UNKNOWN_CONTACT, BookedCall, booked_conversations, family_calls
from auditcycle.submissions.drafts import form_to_show, save_draft
from auditcycle.submissions.forms import SUMMARY_MAX, FormError
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
OUTCOMES = {"spoke": "Spoke with them", "declined": "Declined to speak", "unreachable": "Could not be reached",
            "not_appropriate": "Not appropriate to contact"}
MAX_CALL_ROWS = 20


class ActionRowForm(Form):
    """One action: what is to be done, by whom, by when."""

    description = TextAreaField("What is to be done", widget=GovTextArea(), validators=[Optional()])
    owner = SelectField("Owner", widget=GovSelect(), validate_choice=False, choices=[])
    due = DateField("Due date", widget=GovDateInput(), format="%d %m %Y", validators=[Optional()],
                    description="For example, 27 1 2027")


class CallRowForm(Form):
    """One booked call with a family contact or the young person: how it went."""

    meeting = StringField(widget=HiddenInput())
    outcome = RadioField("Outcome of the call", choices=list(OUTCOMES.items()), validate_choice=False,
                         widget=GovRadioInput(), validators=[Optional()])
    interpreter = RadioField("Was an interpreter used?", choices=[("yes", "Yes"), ("no", "No")],
                             validate_choice=False, widget=GovRadioInput(), validators=[Optional()])
    summary = TextAreaField("Summary of what they said", widget=GovCharacterCount(), validators=[Optional()],
                            description="Their views of the help they have had. Refer to people by relationship. "
                                        "Do not include names.")


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
    fields["calls"] = FieldList(FormField(CallRowForm), min_entries=0, max_entries=MAX_CALL_ROWS)
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


def _call_label(call: BookedCall) -> str:
    who = call.relationship[:1].upper() + call.relationship[1:]
    return f"{who} ({call.initials})" if call.initials else who


def _calls_not_shown(stored: dict, shown: set[str]) -> list[dict]:
    """The stored form's family feedback rows the page has no row for: from a form file, or for a call since gone."""
    rows = stored.get("family_feedback") if isinstance(stored.get("family_feedback"), list) else []
    return [r for r in rows if isinstance(r, dict) and r.get("meeting") not in shown]


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    audit = get_audit(session, link.subject_ref)
    framework = ctx.settings.framework
    submission = session.scalar(select(Submission).where(Submission.audit_id == audit.id))
    redact = Redactor.about(session, audit.child)
    calls = family_calls(session, audit)
    booked = {call.reference: f"Call booked for {moment_label(call.starts_at, ctx.tz)}, {call.minutes} minutes."
              + (f" An interpreter was booked ({call.interpreter_language})." if call.interpreter_language else "")
              for call in calls}
    kept = [(str(redact(r.get("relationship") or "family contact")), OUTCOMES.get(r.get("outcome"), "no outcome"))
            for r in _calls_not_shown(form_to_show(session, audit.reference), set(booked))]
    return {
        "caption": f"Audit {audit.reference}", "title": "Audit form", "audit_ref": audit.reference,
        "case_id": audit.child_id, "initials": audit.child.initials, "kind_label": KIND_LABELS[audit.kind],
        "due_label": day_label(audit.due_date), "version": submission.version if submission else None,
        "draft": audit.form_draft is not None, "may_not_apply": may_not_apply(ctx, audit),
        "domains": [(slug, label, framework.questions.get(slug, [])) for slug, label in framework.domains.items()],
        "conversations": list(CONVERSATIONS), "max_days": framework.action_max_days,
        "calls": {call.reference: {"label": _call_label(call), "booked": booked[call.reference]} for call in calls},
        "kept_calls": kept, "summary_max": SUMMARY_MAX,
        "conversation_hints": {
            kind: f"Booked for {moment_label(held.starts_at, ctx.tz)}, {held.minutes} minutes. Leave empty if not held."
            for kind, held in booked_conversations(session, ctx, audit).items() if kind in CONVERSATIONS},
    }


def _prefill(session: Session, ctx: AppContext, link: Link) -> dict:
    """The form's fields from the draft saved last, or the form as submitted; its free text through the redactor.

    A conversation the form does not record yet is filled in from its booked meeting once that has begun.
    """
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
    said = {r["meeting"]: r for r in rows("family_feedback") if isinstance(r.get("meeting"), str)}
    data["calls"] = []
    for call in family_calls(session, audit)[:MAX_CALL_ROWS]:
        row = said.get(call.reference, {})
        data["calls"].append({"meeting": call.reference, "outcome": row.get("outcome"),
                              "interpreter": INTERPRETER_ANSWERS.get(row.get("interpreter_used")),
                              "summary": text(row.get("summary"))})
    for held in rows("conversations"):
        if held.get("kind") in CONVERSATIONS:
            data[f"conv_{held['kind']}_on"] = iso_day(held.get("held_on"))
            data[f"conv_{held['kind']}_minutes"] = held.get("minutes")
    for kind, booked in booked_conversations(session, ctx, audit).items():
        if kind in CONVERSATIONS and f"conv_{kind}_on" not in data and booked.started:
            data[f"conv_{kind}_on"], data[f"conv_{kind}_minutes"] = booked.held_on, booked.minutes
    return data


@dataclass
class _Places:
    """Where each row of the form's JSON came from on the page, to put the domain's refusals back beside it."""

    actions: list[int] = field(default_factory=list)  # the page row of each action
    conversations: list[str] = field(default_factory=list)  # the kind of each conversation
    calls: list[tuple[int | None, str]] = field(default_factory=list)  # each call's page row (None: kept) and name


def _as_submitted(form: FlaskForm, domains: list[str], offered: list[str], calls: dict[str, BookedCall],
                  kept: list[dict]) -> tuple[dict, _Places]:
    """The form's JSON shape from the page's fields, with where each of its rows is on the page."""
    places = _Places()
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
    data["actions"] = []
    for number, row in enumerate(form.actions.entries):
        fields = row.form
        if (fields.description.data or "").strip() or fields.owner.data or fields.due.data:
            places.actions.append(number)
            data["actions"].append({"description": fields.description.data or "", "owner_id": fields.owner.data or "",
                                    "due": fields.due.data.isoformat() if fields.due.data else ""})
    data["family_feedback"] = []
    for number, row in enumerate(form.calls.entries):
        fields, reference = row.form, (row.form.meeting.data or "").strip()
        if not (fields.outcome.data or fields.interpreter.data or (fields.summary.data or "").strip()):
            continue  # a call not yet held, or not recorded yet
        call = calls.get(reference)
        item = {"meeting": reference or None, "relationship": call.relationship if call else UNKNOWN_CONTACT,
                "interpreter_used": {"yes": True, "no": False}.get(fields.interpreter.data),
                "summary": fields.summary.data or ""}
        if fields.outcome.data:
            item["outcome"] = fields.outcome.data
        places.calls.append((number, _call_label(call) if call else f"Call {number + 1}"))
        data["family_feedback"].append(item)
    for number, item in enumerate(kept, start=1):
        places.calls.append((None, f"Family contact {number} recorded from a form file"))
        data["family_feedback"].append(item)
    data["conversations"] = []
    for kind in CONVERSATIONS:
        held_on, minutes = form[f"conv_{kind}_on"].data, form[f"conv_{kind}_minutes"].data
        if held_on or minutes is not None:
            places.conversations.append(kind)
            data["conversations"].append({"kind": kind, "held_on": held_on.isoformat() if held_on else "",
                                          "minutes": minutes if minutes is not None else 0})
    reason = (form.immediate_response.data or "").strip()
    data["immediate_response"] = {"reason": reason} if reason else None
    data["disagreement"] = bool(form.disagreement.data)
    return data, places


ACTION_FIELDS = {"description": ("description", "what is to be done"), "owner_id": ("owner", "owner"),
                 "due": ("due", "due date")}
CONVERSATION_FIELDS = {"held_on": ("on", "date held"), "minutes": ("minutes", "length in minutes")}
# The meeting and relationship come from the page, not the person: a refusal of either is shown at the outcome.
CALL_FIELDS = {"outcome": ("outcome", "outcome"), "interpreter_used": ("interpreter", "interpreter used"),
               "summary": ("summary", "summary"), "meeting": ("outcome", "booked call"),
               "relationship": ("outcome", "who was called")}
INTERPRETER_ANSWERS = {True: "yes", False: "no"}
TOP_FIELDS = {"overall": "Overall grade", "strengths": "Strengths",
              "practitioner_feedback": "Feedback for the practitioner", "disagreement": "Disagreement"}


def _row(rest: list[str], count: int) -> int | None:
    return int(rest[0]) if rest and rest[0].isdigit() and int(rest[0]) < count else None


def _where(path: list[str], labels: dict[str, str], places: _Places) -> tuple[str | None, str]:
    """The page's field for a place in the form's JSON ("actions.0.due"), and how to name it to a person."""
    head, rest = path[0], path[1:]
    part = rest[1] if len(rest) > 1 else ""
    if head in ("grades", "evidence", "not_applicable") and rest and rest[0] in labels:
        label = labels[rest[0]]
        return {"grades": (f"grade_{rest[0]}", label), "evidence": (f"evidence_{rest[0]}", f"{label}, evidence"),
                "not_applicable": (f"na_reason_{rest[0]}", f"{label}, why it does not apply")}[head]
    if head == "actions" and (index := _row(rest, len(places.actions))) is not None:
        row = places.actions[index]
        name, label = ACTION_FIELDS.get(part, ("description", ""))
        return f"actions-{row}-{name}", f"Action {row + 1}" + (f", {label}" if label else "")
    if head == "family_feedback" and (index := _row(rest, len(places.calls))) is not None:
        row, who = places.calls[index]
        name, label = CALL_FIELDS.get(part, ("outcome", ""))
        return (f"calls-{row}-{name}" if row is not None else None), who + (f", {label}" if label else "")
    if head == "conversations" and (index := _row(rest, len(places.conversations))) is not None:
        kind = places.conversations[index]
        name, label = CONVERSATION_FIELDS.get(part, ("on", "date held"))
        return f"conv_{kind}_{name}", f"{CONVERSATIONS[kind]}, {label}"
    if head == "immediate_response":
        return "immediate_response", "Immediate Response"
    if head in TOP_FIELDS:
        return head, TOP_FIELDS[head]
    return None, ""


CHOSEN = ("owner", "outcome")  # fields a person chooses from, rather than types


def _refusal(error: FormError, labels: dict[str, str], places: _Places) -> FieldProblems:
    """The domain's list of problems, each beside the field it names where the page has one."""
    placed: list[tuple[str | None, str]] = []
    for problem in error.problems:
        where, _, message = problem.partition(": ")
        name, label = _where(where.split("."), labels, places)
        # The domain words these for a JSON file's author; on the page the field already names the domain.
        if message.startswith("not graded") or (message == "Field required" and where == "overall"):
            message = "choose a grade"
        elif message == "Field required" or message.startswith("String should have at least 1 character"):
            message = "choose one" if name and name.endswith(CHOSEN) else "enter it"
        elif message.startswith("not a date;"):
            message = "enter the date"  # the page's date fields are read as dates; only an empty one gets here
        elif message.startswith("String should have at most "):
            message = "enter at most " + message.removeprefix("String should have at most ")
        placed.append((name, f"{label}: {message}" if label else problem))
    return FieldProblems(placed)


def _act(session: Session, ctx: AppContext, link: Link, form: FlaskForm) -> str:
    audit = get_audit(session, link.subject_ref)
    framework = ctx.settings.framework
    calls = {call.reference: call for call in family_calls(session, audit)}
    # Rows the page did not show (from a form file, say) are kept as they were.
    kept = _calls_not_shown(form_to_show(session, audit.reference),
                            {(row.form.meeting.data or "").strip() for row in form.calls.entries})
    data, places = _as_submitted(form, list(framework.domains), may_not_apply(ctx, audit), calls, kept)
    if form.save.data:
        save_draft(session, ctx, reference=audit.reference, data=data, by=link.staff_id)
        return (f"Your form for audit {audit.reference} is saved. Open the link in your email again to finish it; "
                "nothing is submitted until you submit it.")
    try:
        submission = submit(session, ctx, reference=audit.reference, data=data, by=link.staff_id, source="the form")
    except FormError as error:
        raise _refusal(error, dict(framework.domains), places) from None
    again = f" (version {submission.version})" if submission.version > 1 else ""
    return (f"The audit form for {audit.reference} is submitted{again}. The key worker, their team manager and "
            "any IRO or CP chair are told the outcome. You can change it and submit it again until moderation.")


journey(Journey("audit-form", "journeys/audit_form.html", audit_form, _show, _act, prefill=_prefill,
                single_use=False, prepare=_prepare))
