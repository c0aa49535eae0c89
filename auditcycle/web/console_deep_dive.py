"""The console's deep dive and dip sample: a form a member of the QA team asks for one on, and its run's progress.

The request is stored first, as the signed-in person, and once per form (a second POST of the same form finds it).
Its run is then started by its reference alone: a deployment run where a Prefect server is configured, else in the
background beside the web application. The address carries only the reference (REQ-17), never the theme or reason.
"""
import re
import secrets

from flask import current_app, flash, g, get_flashed_messages, redirect, render_template, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.main import wtforms_errors
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovDateInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from werkzeug.exceptions import NotFound
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Regexp, ValidationError

from auditcycle.console.deep_dive import FormChoices, ask, form_choices, progress, start_again
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.flows.adhoc import start_request
from auditcycle.models.enums import Cohort, CycleKind
from auditcycle.runs.prefect_server import configured_api, flow_run_url
from auditcycle.sampling.requests import MAX_NOTICE_WORKING_DAYS, Asked, RequestRefused
from auditcycle.web.acts import deciding, reading
from auditcycle.web.console import acting_in_console, blueprint, signed_in

REFERENCE = r"REQ-[1-9][0-9]{0,9}"  # the only thing about a request its address carries
PREFECT_API = "AUDITCYCLE_PREFECT_API_URL"


@blueprint.record_once
def _prefect_server(state) -> None:  # noqa: ANN001
    # Read once, as the app is made: where runs are started for this web application's lifetime.
    state.app.config.setdefault(PREFECT_API, configured_api())


class WholeNumberField(IntegerField):
    """A count typed as digits; left empty, no count (the request's rules then say what is missing)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        """Read the digits, or nothing from an empty box."""
        if valuelist and not valuelist[0].strip():
            self.data = None
            return
        super().process_formdata([v.strip() for v in valuelist])


class DayMonthYearField(DateField):
    """A date typed as day, month and year in GOV.UK's date input; left empty, no date."""

    def process_formdata(self, valuelist: list[str]) -> None:
        """Read the three boxes as a date, or nothing when all three are empty."""
        if valuelist and not "".join(valuelist).strip():
            self.data = None
            return
        super().process_formdata([v.strip() for v in valuelist])


class DeepDiveForm(FlaskForm):
    """What a deep dive or dip sample draws, by when and why; the framework's rules are the request's own."""

    kind = RadioField("What do you want to draw?", widget=GovRadioInput(),
                      choices=[(CycleKind.DEEP_DIVE.value, "A deep dive"),
                               (CycleKind.DIP_SAMPLE.value, "A dip sample")],
                      validators=[InputRequired(message="Select a deep dive or a dip sample")])
    theme = StringField("Theme", widget=GovTextInput(),
                        description="What the sample looks at, for example neglect in child protection plans. "
                                    "Refer to any child by case id. Do not include names.")
    cohort = SelectField("Cohort", widget=GovSelect(), choices=[], validate_choice=False)
    team = SelectField("Team", widget=GovSelect(), choices=[], validate_choice=False)
    size = WholeNumberField("How many audits?", widget=GovTextInput(),
                            invalid_value_message="Enter the number of audits as a whole number, like 5")
    due = DayMonthYearField("Due date", widget=GovDateInput(), format="%d %m %Y",
                            invalid_value_message="Enter the due date as a real date, with a day, month and year",
                            description=f"A working day after today, within {MAX_NOTICE_WORKING_DAYS} working days. "
                                        "For example, 18 12 2026.")
    reason = TextAreaField("Why is it being called? (optional)", widget=GovTextArea(),
                           description="Refer to any child by case id. Do not include names.")
    domains = SelectMultipleField("Focus domains, for a dip sample", widget=GovCheckboxesInput(), choices=[],
                                  validate_choice=False,
                                  description="A dip sample's form grades only the domains you choose. A deep dive "
                                              "grades every domain: leave these empty.")
    # The form's one-time key: a second POST of the same form (a double click, a replay) finds the first's request.
    once = HiddenField(validators=[Regexp(r"^[0-9a-f]{32}$", message="The form was not sent properly: try again")])
    submit = SubmitField("Ask for it and start", widget=GovSubmitInput())

    def offer(self, choices: FormChoices) -> None:
        """Offer the teams, cohorts and domains there are."""
        self.cohort.choices = [("", "Any cohort"), *choices.cohorts]
        self.team.choices = [("", "Any team"), *((name, name) for name in choices.teams)]
        self.domains.choices = list(choices.domains)

    def validate_cohort(self, field: SelectField) -> None:
        """Take a cohort only from the list."""
        if field.data and field.data not in {c.value for c in Cohort}:
            raise ValidationError("Choose a cohort from the list")

    def asked(self) -> Asked:
        """Return what the form asks for, as typed: the request's own rules judge it."""
        return Asked(kind=CycleKind(self.kind.data), theme=self.theme.data or "", size=self.size.data,
                     due=self.due.data, cohort=Cohort(self.cohort.data) if self.cohort.data else None,
                     team=self.team.data or None, reason=self.reason.data or None,
                     domains=tuple(self.domains.data or ()))


class StartAgainForm(FlaskForm):
    """One button: start a stored request's run again (a re-run draws nothing new)."""

    submit = SubmitField("Start it again", widget=GovSubmitInput())


def _summary(form: DeepDiveForm, problems: list[str]) -> list[dict]:
    """List the form's errors for the summary at the top, each linked to its field's first box."""
    found = wtforms_errors(form)["errorList"] if form.errors else []
    # GOV.UK's error summary links a date to its day box; the one-time key has no box to link to.
    links = {"#due": {"href": "#due-day"}, "#once": {"href": None}}
    return [{**e, **links.get(e.get("href"), {})} for e in found] + [{"text": p} for p in problems]


def _form_page(form: DeepDiveForm, status: int = 200, problems: list[str] | None = None):  # noqa: ANN202
    with reading() as (db, ctx):
        choices = form_choices(db, ctx)
    form.offer(choices)
    errors = _summary(form, problems or [])
    if form.once.errors:
        form.once.data = secrets.token_hex(16)  # a key that was lost or tampered with: this copy gets its own
    return render_template("console/deep_dive.html", title="Deep dive or dip sample", form=form, errors=errors,
                           recent=choices.recent, section="deep-dive"), status


def _place(form: DeepDiveForm, refused: RequestRefused) -> list[str]:
    """Put each of the request's problems beside its field; return those about no field."""
    loose = []
    for problem in refused.problems:
        field = getattr(form, problem.field, None) if problem.field else None
        if field is None:
            loose.append(problem.message)
        else:
            field.errors = [*field.errors, problem.message]
    form._errors = None  # WTForms keeps the errors it read; read again, they include the request's
    return loose


@blueprint.get("/console/deep-dive")
@signed_in(permission="deep-dive")
def deep_dive_form():  # noqa: ANN201
    """Ask what a deep dive or dip sample should draw, and list the ones lately asked for."""
    return _form_page(DeepDiveForm(once=secrets.token_hex(16)))


@blueprint.post("/console/deep-dive")
@signed_in(permission="deep-dive")
def ask_for_deep_dive():  # noqa: ANN201
    """Store the request as the signed-in person, once per form, then start its run by reference alone."""
    form = DeepDiveForm()  # its choices are offered to show it: what is sent is judged by the request's rules
    if not form.validate_on_submit():
        return _form_page(form, 400)
    try:
        with deciding() as (db, ctx), acting_in_console():
            asking = ask(db, ctx, asked=form.asked(), by=g.staff_id, form_key=form.once.data)
    except RequestRefused as refused:
        return _form_page(form, 400, _place(form, refused))
    except UserError as refused:
        return _form_page(form, 403 if isinstance(refused, PermissionDenied) else 409, [str(refused)])
    if asking.new:
        _start(asking.reference, asking.kind)
    return redirect(url_for("console.deep_dive_progress", reference=asking.reference), code=303)


def _start(reference: str, kind: CycleKind) -> None:
    """Start a stored request's run, as the signed-in person; a run that cannot start is told on its page."""
    try:
        with acting_in_console():  # the background run keeps the trail's credit and origin
            start_request(reference, kind, prefect_api=current_app.config.get(PREFECT_API))
    except UserError as refused:
        flash(str(refused), "problem")


def _reference(reference: str) -> str:
    if not re.fullmatch(REFERENCE, reference):
        raise NotFound()
    return reference


@blueprint.get("/console/deep-dive/<reference>")
@signed_in(permission="deep-dive")
def deep_dive_progress(reference: str):  # noqa: ANN201
    """Show a request and how its run stands, read from the database: any web worker can show it."""
    with reading() as (db, ctx):
        try:
            view = progress(db, ctx, _reference(reference))
        except UserError:
            raise NotFound() from None
    prefect_api = current_app.config.get(PREFECT_API)
    return render_template("console/deep_dive_progress.html", title=f"{view.kind} {view.reference}", view=view,
                           flow_run=flow_run_url(view.flow_run_id) if view.flow_run_id else None,
                           start_again=StartAgainForm(), section="deep-dive",
                           may_start_again=view.state == "failed" or (
                               prefect_api is not None and view.flow_run_id is None and view.state == "waiting"),
                           problems=get_flashed_messages(category_filter=["problem"]))


@blueprint.post("/console/deep-dive/<reference>/start")
@signed_in(permission="deep-dive")
def start_deep_dive_again(reference: str):  # noqa: ANN201
    """Start a stored request's run again, as a member of the QA team: a re-run draws nothing new."""
    if StartAgainForm().validate_on_submit():
        try:
            with deciding() as (db, ctx):
                kind = start_again(db, ctx, reference=_reference(reference), by=g.staff_id)
        except UserError as refused:
            flash(str(refused), "problem")
        else:
            _start(reference, kind)
    return redirect(url_for("console.deep_dive_progress", reference=reference), code=303)
