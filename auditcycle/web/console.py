"""The console: sign in by a mailed link, sign out, and the month at a glance.

Every console page needs a signed-in member of staff whom the page's permission allows: the QA team unless
the page says otherwise (`@signed_in(permission=...)`); each change it makes is credited in the trail to
that person. A view reads the request, calls one domain function and shows its answer.
"""
from datetime import datetime, tzinfo
from functools import wraps

from authlib.integrations.base_client import OAuthError
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea, GovTextInput
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from wtforms import HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Regexp

from auditcycle.console.drawn_list import list_view
from auditcycle.console.identity import stable_subject, staff_for_subject
from auditcycle.console.mail import find_mail, mail_reference, resend_links, retry_message
from auditcycle.console.month import month_view, monthly_months
from auditcycle.console.sessions import MAY_SIGN_IN, Ended, end_session, resume, start_session
from auditcycle.console.sign_in import ask_for_link
from auditcycle.core.clock import Month
from auditcycle.core.errors import UserError
from auditcycle.models import Audit, Staff
from auditcycle.models.enums import MessageStatus
from auditcycle.notices.review import approve_list
from auditcycle.notifications.notices import moment_label
from auditcycle.people.permissions import PERMISSIONS, may
from auditcycle.sampling.cycle import monthly_cycle, replace
from auditcycle.storage.trail import acting_as
from auditcycle.web import oidc
from auditcycle.web.acts import deciding, reading
from auditcycle.web.journeys.sign_in import SESSION_KEY, begin

blueprint = Blueprint("console", __name__)
CONSOLE = "console"
REASON_MAX = 500


class AskForLinkForm(FlaskForm):
    """The work email address a sign-in link is sent to."""

    email = StringField("Your work email address", widget=GovTextInput(),
                        validators=[InputRequired(message="Enter your work email address"),
                                    Length(max=254, message="An email address is 254 characters or fewer"),
                                    Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                           message="Enter an email address like name@council.example")])
    submit = SubmitField("Send me a sign-in link", widget=GovSubmitInput())


class ApproveListForm(FlaskForm):
    """One button: approve the month's drawn list, so its notices go."""

    month = HiddenField()
    submit = SubmitField("Approve the list", widget=GovSubmitInput())


class ReplaceForm(FlaskForm):
    """Why an audit is swapped out of the list: kept in the trail and the audit's history."""

    reason = TextAreaField("Why is this audit being replaced?", widget=GovTextArea(),
                           validators=[InputRequired(message="Enter why the audit is being replaced"),
                                       Length(max=REASON_MAX,
                                              message=f"The reason must be {REASON_MAX} characters or fewer")],
                           description="For example, the child's case closed last week. Refer to any child by case "
                                       "id. Do not include names.")
    submit = SubmitField("Replace the audit", widget=GovSubmitInput())


class SignOutForm(FlaskForm):
    """One button: signing out is a POST, with its CSRF token."""

    submit = SubmitField("Sign out", widget=GovSubmitInput())


def _resumed(db, ctx) -> tuple[Staff | Ended | None, tuple[str, str] | None, bool]:  # noqa: ANN001
    """Resume the browser's session: who, their id and name if signed in, and whether that changed a row."""
    who = resume(db, ctx, session.get(SESSION_KEY))
    return who, (who.id, who.name) if isinstance(who, Staff) else None, bool(db.dirty)


# Each permission a console page asks for (the decorator notes them): checked once a request, for the navigation.
PAGE_PERMISSIONS: set[str] = set()


def _may_open(db, who: Staff) -> frozenset[str]:  # noqa: ANN001
    return frozenset(p for p in PAGE_PERMISSIONS if may(db, p, who))


def signed_in(view=None, *, permission: str = CONSOLE):  # noqa: ANN001, ANN201
    """Let a view run only for a live session of someone the permission allows (the QA team unless told);
    with no session go to the sign-in page, and without the permission say so (403)."""
    if view is None:
        return lambda inner: signed_in(inner, permission=permission)
    PAGE_PERMISSIONS.add(permission)

    @wraps(view)
    def guarded(*args, **kwargs):  # noqa: ANN202
        # Read first, as every page does: only a session to mark seen or to end takes the write transaction.
        with reading() as (db, ctx):
            who, found, to_write = _resumed(db, ctx)
            opens = _may_open(db, who) if found else frozenset()
        if to_write:
            with deciding() as (db, ctx):
                who, found, _ = _resumed(db, ctx)
                opens = _may_open(db, who) if found else frozenset()
        if found is None:
            session.pop(SESSION_KEY, None)
            if isinstance(who, Ended):
                flash(who.reason, "signed-out")
            return redirect(url_for("console.sign_in"), code=303)
        g.staff_id, g.staff_name = found
        g.may_open = opens
        if permission not in opens:
            return render_template("console/forbidden.html", title="You cannot open this page",
                                   who=PERMISSIONS[permission][1], section=None), 403
        return view(*args, **kwargs)

    guarded.console_permission = permission
    return guarded


def short_moment(moment: datetime, tz: tzinfo) -> str:
    """Say a moment as a table cell on a phone does: "Wed 2 Dec, 07:00"."""
    local = moment.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def _sign_in_page(form: AskForLinkForm | None = None, problem: str | None = None) -> str:
    settings = current_app.config["AUDITCYCLE_SETTINGS"]
    return render_template("console/sign_in.html", form=form or AskForLinkForm(), title="Sign in", problem=problem,
                           provider=settings.oidc_issuer is not None,
                           notes=get_flashed_messages(category_filter=["signed-out"]))


@blueprint.app_context_processor
def _sign_out_form() -> dict:
    # Every console page's header carries the sign-out button; a page outside the console does not show it.
    return {"sign_out": SignOutForm(), "console_nav": console_nav} if "staff_id" in g else {}


def console_nav(items: list[dict]) -> list[dict]:
    """Keep the navigation's links to the pages the signed-in person may open (each page's own permission)."""
    adapter = current_app.url_map.bind("")
    kept = []
    for item in items:
        path = item["href"].split("?")[0].removeprefix(request.script_root)
        try:
            endpoint, _ = adapter.match(path)
        except HTTPException:
            endpoint = None  # not a page of this site: nothing to check
        needed = getattr(current_app.view_functions.get(endpoint), "console_permission", None)
        if needed is None or needed in g.get("may_open", ()):
            kept.append(item)
    return kept


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in():  # noqa: ANN201
    """Sign in with the council's service, or ask for a sign-in link by work email (the same answer either way)."""
    form = AskForLinkForm()
    if current_app.config["AUDITCYCLE_SETTINGS"].oidc_issuer is None and form.validate_on_submit():
        with deciding() as (db, ctx):
            ask_for_link(db, ctx, form.email.data)
            minutes = ctx.settings.sign_in_link_minutes
        return render_template("console/link_sent.html", title="Check your email", minutes=minutes)
    return _sign_in_page(form), 400 if form.errors else 200


@blueprint.get("/sign-in/start")
def oidc_start():  # noqa: ANN201
    """Send the browser to the council's sign-in service; only the state it needs goes in the cookie."""
    settings = current_app.config["AUDITCYCLE_SETTINGS"]
    if settings.oidc_issuer is None:
        return redirect(url_for("console.sign_in"), code=303)
    return oidc.client().authorize_redirect(f"{settings.base_url}{url_for('console.oidc_callback')}")


@blueprint.get("/sign-in/callback")
def oidc_callback():  # noqa: ANN201
    """Sign in the person the council's sign-in service vouches for, if they may sign in to the console."""
    settings = current_app.config["AUDITCYCLE_SETTINGS"]
    if settings.oidc_issuer is None:
        return redirect(url_for("console.sign_in"), code=303)
    try:
        # Authlib checks the state, the nonce, the signature, the audience, the expiry and the issuer of the metadata.
        claims = oidc.client().authorize_access_token().get("userinfo") or {}
        if claims.get("iss") != settings.oidc_issuer:
            raise OAuthError(description="the ID token is not from the council's sign-in service")
    except OAuthError as refused:
        current_app.logger.warning("sign-in refused by the sign-in service: %s", refused.error or "invalid response")
        return _sign_in_page(problem="The council's sign-in service did not sign you in (it was cancelled or "
                                     "refused). Try again."), 400
    try:
        with deciding() as (db, ctx):
            staff = staff_for_subject(db, ctx, subject=stable_subject(claims), email=claims.get("email")
                                      or claims.get("preferred_username"))
            token = start_session(db, ctx, staff_id=staff.id, method="oidc")
    except UserError as refused:
        return _sign_in_page(problem=str(refused)), 403
    return begin(token)


@blueprint.post("/sign-out")
def sign_out():  # noqa: ANN201
    """End the browser's session: it signs no one in again."""
    if SignOutForm().validate_on_submit():
        with deciding() as (db, ctx):
            end_session(db, ctx, session.get(SESSION_KEY))
        session.clear()
        flash("You have signed out.", "signed-out")
    return redirect(url_for("console.sign_in"), code=303)


@blueprint.get("/console/start")
@signed_in(permission=MAY_SIGN_IN)
def start():  # noqa: ANN201
    """Open the first page the signed-in person may: This month for the QA team, the tracker for the others."""
    first = next((endpoint for endpoint in START_PAGES
                  if current_app.view_functions[endpoint].console_permission in g.may_open), None)
    return redirect(url_for(first) if first else url_for("console.sign_in"), code=303)


# In the navigation's order: the first a person may open is where signing in takes them.
START_PAGES = ("console.home", "console.tracker")


@blueprint.get("/console")
@signed_in
def home():  # noqa: ANN201
    """Show the month at a glance: each phase, the audits at each stage, open Immediate Responses, mail not sent."""
    with reading() as (db, ctx):
        months = monthly_months(db)
        asked = request.args.get("month")
        try:
            month = Month.parse(asked) if asked else Month.of(ctx.timescales.today(ctx.now))
        except (UserError, ValueError):
            return render_template("console/home.html", title="This month", view=None, months=months,
                                   problem=f"There is no month {asked[:7]!r}: choose one from the list",
                                   section="month"), 404
        view = month_view(db, ctx, month)
        return render_template("console/home.html", title=f"{month.label}", view=view, months=months,
                               when=lambda moment: moment_label(moment, ctx.tz) if moment else "—",
                               short=lambda moment: short_moment(moment, ctx.tz),
                               section="month")


def _list_month(db, ctx) -> Month:  # noqa: ANN001
    # The list under review is next month's once it is drawn (the last week of the month), else this month's.
    asked = request.args.get("month") or request.form.get("month")
    if asked:
        return Month.parse(asked)
    this_month = Month.of(ctx.timescales.today(ctx.now))
    return this_month.next() if monthly_cycle(db, this_month.next()) is not None else this_month


def acting_in_console():  # noqa: ANN202
    """Credit what the request changes to the signed-in person, from the console."""
    return acting_as(g.staff_id, origin=("console", request.remote_addr))


def _list_page(status: int = 200, problem: str | None = None, month: Month | None = None):  # noqa: ANN202
    with reading() as (db, ctx):
        try:
            month = month or _list_month(db, ctx)
        except (UserError, ValueError):
            month, problem, status = Month.of(ctx.timescales.today(ctx.now)), "There is no such month", 404
        view = list_view(db, ctx, month, db.get(Staff, g.staff_id))
        return render_template("console/list.html", title=f"The list: {month.label}", month=month, view=view,
                               approve=ApproveListForm(month=str(month)), section="list",
                               problem=problem, done=get_flashed_messages(category_filter=["done"])), status


@blueprint.get("/console/list")
@signed_in
def drawn_list():  # noqa: ANN201
    """Show a month's drawn list: each audit, its auditor and meetings, and whether the list is approved."""
    return _list_page()


@blueprint.post("/console/list/approve")
@signed_in
def approve():  # noqa: ANN201
    """Approve the month's drawn list as the signed-in QA manager, once."""
    form = ApproveListForm()
    if not form.validate_on_submit():
        return _list_page(400, "The form was not sent properly: try again")
    try:
        with acting_in_console(), deciding() as (db, ctx):
            month = Month.parse(form.month.data)
            cycle = monthly_cycle(db, month)
            if cycle is None:
                raise UserError(f"{month.label} has not been drawn")
            if not approve_list(db, ctx, cycle=cycle, by=g.staff_id):
                approver = db.get(Staff, cycle.list_approved_by_id)
                raise UserError(f"The {month.label} list was already approved by {approver.name} at "
                                f"{moment_label(cycle.list_approved_at, ctx.tz)}. Nothing was changed.")
    except (UserError, ValueError) as refused:
        return _list_page(409, str(refused))
    flash(f"The {month.label} list is approved: its notices go with the next notify run.", "done")
    return redirect(url_for("console.drawn_list", month=str(month)), code=303)


def _replace_page(reference: str, form: ReplaceForm, status: int = 200, problem: str | None = None):  # noqa: ANN202
    with reading() as (db, ctx):
        audit = db.scalar(select(Audit).where(Audit.reference == reference))
        if audit is None:
            abort(404)
        return render_template("console/replace.html", title=f"Replace {reference}", audit=audit, form=form,
                               month=Month.parse(audit.cycle.month), section="list",
                               problem=problem), status


@blueprint.get("/console/list/<reference>/replace")
@signed_in
def replace_form(reference: str):  # noqa: ANN201
    """Ask why an audit not yet announced is to be replaced."""
    return _replace_page(reference, ReplaceForm())


@blueprint.post("/console/list/<reference>/replace")
@signed_in
def replace_audit(reference: str):  # noqa: ANN201
    """Replace an audit as the signed-in member of the QA team: redrawn from the same stratum, same auditor."""
    form = ReplaceForm()
    if not form.validate_on_submit():
        return _replace_page(reference, form, 400)
    try:
        with acting_in_console(), deciding() as (db, ctx):
            new = replace(db, ctx, reference=reference, by=g.staff_id, reason=form.reason.data)
            month, new_ref, case = Month.parse(new.cycle.month), new.reference, new.child_id
    except UserError as refused:
        return _replace_page(reference, form, 409, str(refused))
    flash(f"{reference} is replaced by {new_ref} (case {case}).", "done")
    return redirect(url_for("console.drawn_list", month=str(month)), code=303)


class RetryForm(FlaskForm):
    """One button: send a failed message again."""

    submit = SubmitField("Retry", widget=GovSubmitInput())


class ResendForm(FlaskForm):
    """One button: send the recipient a fresh link for what the message asked them to do."""

    version = HiddenField()
    submit = SubmitField("Send a fresh link", widget=GovSubmitInput())


STATUSES = {"": "Any", **{s.value: s.value.capitalize() for s in MessageStatus}}


@blueprint.get("/console/mail")
@signed_in
def mail():  # noqa: ANN201
    """List the messages the outbox holds, newest first, found by recipient, reference, kind or number."""
    text = (request.args.get("q") or "")[:200]
    status = request.args.get("status") or ""
    with reading() as (db, ctx):
        rows, total = find_mail(db, text=text, status=MessageStatus(status) if status in STATUSES and status else None)
        return render_template("console/mail.html", title="Mail", rows=rows, total=total, q=text, status=status,
                               statuses=STATUSES, retry=RetryForm(), resend=ResendForm(), section="mail",
                               short=lambda moment: short_moment(moment, ctx.tz) if moment else "—",
                               done=get_flashed_messages(category_filter=["done"]),
                               problems=get_flashed_messages(category_filter=["problem"]))


@blueprint.post("/console/mail/<int:message_id>/retry")
@signed_in
def retry(message_id: int):  # noqa: ANN201
    """Send a failed message again, as the signed-in member of the QA team, once."""
    if RetryForm().validate_on_submit():
        try:
            with acting_in_console(), deciding() as (db, ctx):
                retry_message(db, ctx, message_id=message_id, by=g.staff_id)
            flash(f"{mail_reference(message_id)} is back in the queue: it goes within a minute.", "done")
        except UserError as refused:
            flash(str(refused), "problem")
    return redirect(url_for("console.mail", q=request.args.get("q") or None), code=303)


@blueprint.post("/console/mail/<int:message_id>/resend")
@signed_in
def resend(message_id: int):  # noqa: ANN201
    """Send a fresh link for what a message asked of its recipient, as the signed-in member of the QA team, once."""
    form = ResendForm()
    if form.validate_on_submit():
        try:
            with acting_in_console(), deciding() as (db, ctx):
                to, count = resend_links(db, ctx, message_id=message_id, by=g.staff_id, version=form.version.data)
            flash(f"A fresh link{'' if count == 1 else f' for each of {count} acts'} is on its way to {to}, and the "
                  f"link{'' if count == 1 else 's'} in {mail_reference(message_id)} no longer work.", "done")
        except UserError as refused:
            flash(str(refused), "problem")
    else:
        flash("The form was not sent properly: try again", "problem")
    return redirect(url_for("console.mail", q=request.args.get("q") or None), code=303)
