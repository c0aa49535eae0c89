"""The console's report page: the month's findings and summary set by the signed-in person, the report previewed in
HTML and PDF, issued once and reissued with a reason, and each edition mailed kept and downloadable.

The person's credit is taken before the transaction opens, so what its commit flushes is in the trail as theirs too.
"""
import io

from flask import abort, flash, g, get_flashed_messages, make_response, redirect, render_template, send_file, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea
from wtforms import HiddenField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from auditcycle.console.month import monthly_months
from auditcycle.console.report import (
    edition_file,
    preview_html,
    preview_pdf,
    report_page,
    save_report_words,
    use_drafted_summary,
)
from auditcycle.core.clock import Month
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.notifications.notices import moment_label
from auditcycle.report.issue import REASON_MAX_CHARACTERS, issue_edition
from auditcycle.report.notes import MAX_CHARACTERS, MAX_SUMMARY_CHARACTERS, ReportTextRefused
from auditcycle.runs.phases import default_month
from auditcycle.web.acts import deciding, reading
from auditcycle.web.console import acting_in_console, blueprint, short_moment, signed_in
from auditcycle.web.console_moderation import month_asked, no_such_month

PHASE = "report"
# The report is self-contained: its own inline style and SVG charts, no script, nothing fetched, no form.
REPORT_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
                 "base-uri 'none'; form-action 'none'; sandbox")
SUMMARY_NEEDED = "Enter the executive summary, or go back to the one drafted from the figures"


class ReportWordsForm(FlaskForm):
    """The month's executive summary and its findings and planned activity, in Markdown."""

    month = HiddenField()
    summary = TextAreaField(
        "Executive summary", widget=GovTextArea(),
        validators=[InputRequired(message=SUMMARY_NEEDED),
                    Length(max=MAX_SUMMARY_CHARACTERS,
                           message=f"The executive summary must be {MAX_SUMMARY_CHARACTERS:,} characters or fewer")],
        description="What a Director reads first: three to six plain sentences, in Markdown. It starts as the "
                    "summary drafted from the month's figures; left as it is, it follows the figures until issue.")
    notes = TextAreaField(
        "Findings and the practice improvement activity planned", widget=GovTextArea(),
        validators=[Length(max=MAX_CHARACTERS,
                           message=f"The findings and planned activity must be {MAX_CHARACTERS:,} characters or "
                                   "fewer")],
        description="In Markdown: ## for a heading, - for a list, **bold**. Refer to any child by case id. Do not "
                    "include names.")
    submit = SubmitField("Save", widget=GovSubmitInput())


class DraftedSummaryForm(FlaskForm):
    """One button: go back to the executive summary drafted from the figures."""

    month = HiddenField()
    submit = SubmitField("Use the drafted summary", widget=GovSubmitInput())


class IssueForm(FlaskForm):
    """One button: issue the month's report, the first edition; `seen` is 0, the editions the page showed."""

    month = HiddenField()
    seen = HiddenField()
    submit = SubmitField("Issue the report", widget=GovSubmitInput())


class ReissueForm(FlaskForm):
    """Why a corrected edition is mailed: kept with the edition and in the trail."""

    month = HiddenField()
    seen = HiddenField()
    reason = TextAreaField(
        "Why is the report being reissued?", widget=GovTextArea(),
        validators=[InputRequired(message="Enter why the report is being reissued"),
                    Length(max=REASON_MAX_CHARACTERS,
                           message=f"The reason must be {REASON_MAX_CHARACTERS} characters or fewer")],
        description="Everyone it went to is sent the corrected edition, marked as a reissue, with this reason in "
                    "the trail. For example: an audit's grade was corrected after moderation.")
    submit = SubmitField("Reissue the report", widget=GovSubmitInput())


def _page(*, month: Month | None = None, words: ReportWordsForm | None = None, reissue: ReissueForm | None = None,
          status: int = 200, problem: str | None = None):  # noqa: ANN202
    with reading() as (db, ctx):
        if month is None:
            try:
                month = month_asked(ctx, PHASE)
            except (UserError, ValueError):
                month, problem, status = default_month(PHASE, ctx), no_such_month(), 404
        view = report_page(db, ctx, month)
        seen = str(view.latest)
        forms = {
            "words": words or ReportWordsForm(month=str(month), summary=view.summary, notes=view.notes),
            "drafted": DraftedSummaryForm(prefix="drafted", month=str(month)),
            "issue": IssueForm(prefix="issue", month=str(month), seen=seen),
            "reissue": reissue or ReissueForm(prefix="reissue", month=str(month), seen=seen),
        }
        return render_template("console/report.html", title=f"The report: {month.label}", view=view,
                               months=monthly_months(db), problem=problem, section="report",
                               done=get_flashed_messages(category_filter=["done"]),
                               short=lambda moment: short_moment(moment, ctx.tz),
                               when=lambda moment: moment_label(moment, ctx.tz), **forms), status


def _refused_field(form: FlaskForm, refused: ReportTextRefused) -> None:
    """Show the domain's refusal beside the field it names, and in the summary."""
    field = form[refused.field_name]
    field.errors = [*field.errors, str(refused)]
    form._errors = None  # WTForms keeps a form's errors once read: read again, they include the domain's


def _month_of(form: FlaskForm) -> Month:
    try:
        return Month.parse(form.month.data or "")
    except (UserError, ValueError):
        abort(404)


@blueprint.get("/console/report")
@signed_in
def report():  # noqa: ANN201
    """Show a month's report: its summary and findings to edit, its preview, and its editions to issue."""
    return _page()


def _decided(month: Month, act, *, words: ReportWordsForm | None = None,  # noqa: ANN001, ANN202
             reissue: ReissueForm | None = None):
    """Make one change as the signed-in person and say so; refused, show the page with why, beside its field."""
    try:
        with acting_in_console(), deciding() as (db, ctx):
            done = act(db, ctx)
    except ReportTextRefused as refused:
        form = words or reissue
        if form is None:
            return _page(month=month, status=409, problem=str(refused))
        _refused_field(form, refused)
        return _page(month=month, words=words, reissue=reissue, status=400)
    except (UserError, ValueError) as refused:
        return _page(month=month, words=words, reissue=reissue, problem=str(refused),
                     status=403 if isinstance(refused, PermissionDenied) else 409)
    flash(done, "done")
    return redirect(url_for("console.report", month=str(month)), code=303)


@blueprint.post("/console/report/words")
@signed_in
def report_words():  # noqa: ANN201
    """Store the month's summary and findings as the signed-in member of the QA team."""
    form = ReportWordsForm()
    month = _month_of(form)
    if not form.validate_on_submit():
        return _page(month=month, words=form, status=400)

    def save(db, ctx) -> str:  # noqa: ANN001
        save_report_words(db, ctx, month=month, by=g.staff_id, notes=form.notes.data or "",
                          summary=form.summary.data or "")
        return f"The {month.label} summary and findings are saved: the preview shows them."

    return _decided(month, save, words=form)


@blueprint.post("/console/report/drafted")
@signed_in
def report_drafted():  # noqa: ANN201
    """Go back to the summary drafted from the figures, as the signed-in member of the QA team."""
    form = DraftedSummaryForm(prefix="drafted")
    month = _month_of(form)
    if not form.validate_on_submit():
        return _page(month=month, status=400, problem="The form was not sent properly: try again")

    def restore(db, _) -> str:  # noqa: ANN001
        use_drafted_summary(db, month=month, by=g.staff_id)
        return f"The {month.label} report uses the summary drafted from the figures again."

    return _decided(month, restore)


def _issue(form: IssueForm | ReissueForm, reason: str | None):  # noqa: ANN202
    month = _month_of(form)

    def issue(db, ctx) -> str:  # noqa: ANN001
        number = issue_edition(db, ctx, month=month, by=g.staff_id, seen=int(form.seen.data or 0),
                               reason=reason).edition
        said = "issued" if number == 1 else f"reissued as edition {number}"
        return f"The {month.label} report is {said}: it goes to everyone on its list with the next mail run."

    return _decided(month, issue, reissue=form if isinstance(form, ReissueForm) else None)


@blueprint.post("/console/report/issue")
@signed_in
def report_issue():  # noqa: ANN201
    """Issue the month's report as the signed-in member of the QA team, once."""
    form = IssueForm(prefix="issue")
    if not form.validate_on_submit():
        return _page(month=_month_of(form), status=400, problem="The form was not sent properly: try again")
    return _issue(form, None)


@blueprint.post("/console/report/reissue")
@signed_in
def report_reissue():  # noqa: ANN201
    """Reissue the month's report with a reason, as the signed-in member of the QA team, once for what they saw."""
    form = ReissueForm(prefix="reissue")
    if not form.validate_on_submit():
        return _page(month=_month_of(form), reissue=form, status=400)
    return _issue(form, form.reason.data)


def _as_the_qa_team(read):  # noqa: ANN001, ANN202
    """Read the asked-for month's report as the signed-in person: 404 for no such month, 403 outside the QA team."""
    with reading() as (db, ctx):
        try:
            month = month_asked(ctx, PHASE)
        except (UserError, ValueError):
            abort(404)
        try:
            return month, read(db, ctx, month, viewer=g.staff_id)
        except PermissionDenied:
            abort(403)


@blueprint.get("/console/report/preview")
@signed_in
def report_preview():  # noqa: ANN201
    """Show the month's report as it would be issued now, as its readers will see it."""
    _, page = _as_the_qa_team(preview_html)
    response = make_response(page)
    response.headers["Content-Security-Policy"] = REPORT_POLICY
    return response


@blueprint.get("/console/report/preview.pdf")
@signed_in
def report_preview_pdf():  # noqa: ANN201
    """Download the month's report as it would be issued now, as the PDF its readers are sent."""
    month, pdf = _as_the_qa_team(preview_pdf)
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                     download_name=f"QA report {month} preview.pdf")


@blueprint.get("/console/report/<month>/edition-<int:number>.<kind>")
@signed_in
def report_edition(month: str, number: int, kind: str):  # noqa: ANN201
    """Download one mailed edition of a month's report, as it was sent (PDF) or as its page (HTML)."""
    if kind not in ("pdf", "html"):
        abort(404)
    with reading() as (db, ctx):
        try:
            chosen = Month.parse(month)
        except (UserError, ValueError):
            abort(404)
        try:
            path = edition_file(db, ctx, chosen, number, pdf=kind == "pdf", viewer=g.staff_id)
        except PermissionDenied:
            abort(403)
    if path is None:
        abort(404)
    if kind == "pdf":
        return send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=f"QA report {chosen} edition {number}.pdf")
    response = make_response(send_file(path, mimetype="text/html"))
    response.headers["Content-Security-Policy"] = REPORT_POLICY
    return response
