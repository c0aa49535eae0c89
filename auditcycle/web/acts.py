"""The pages a signed link opens: one journey per purpose, shown by GET and done only by a POST from the page.

A GET (or HEAD: a mail scanner's) reads the link and shows its page; it writes nothing. The POST re-reads the
link, uses it up and makes the decision in one transaction, with the link's holder as the actor, so the
permission table is checked again where the change is made. The follow-on mail is queued in that transaction
and left to the one sender (`auditcycle deliver --watch`); the web never talks to SMTP.
"""
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session, sessionmaker

from auditcycle.core.context import AppContext, build_context
from auditcycle.core.errors import UserError
from auditcycle.links.fresh import mail_fresh_link
from auditcycle.links.tokens import LinkProblem, LinkProblemKind, read_link, use_link
from auditcycle.models import Link
from auditcycle.notifications.acts import describe_act
from auditcycle.storage.db import engine_for, reader_for
from auditcycle.storage.installation import check_clock
from auditcycle.storage.trail import acting_as

blueprint = Blueprint("acts", __name__)


@dataclass(frozen=True)
class Journey:
    """One act a link can open: its page, its form, what the page shows and the domain call the POST makes."""

    purpose: str
    template: str
    form: Callable[..., FlaskForm]  # a form class, or a function making one (a council's domains are its own)
    # Read-only: the facts the page shows (case id and initials at most).
    show: Callable[[Session, AppContext, Link], dict[str, Any]]
    # Makes the decision through the domain function, as the link's holder; returns the confirmation.
    act: Callable[[Session, AppContext, Link, FlaskForm], str]
    # Fills the form from the record when the page opens (a saved draft, say).
    prefill: Callable[[Session, AppContext, Link], dict[str, Any]] = field(default=lambda *_: {})
    # A decision is made once; a form saved as a draft and submitted later is not used up by saving.
    single_use: bool = True
    # Sets what the form offers from the records (a list of staff to choose from), before it is shown or read.
    prepare: Callable[[Session, AppContext, Link, FlaskForm], None] = field(default=lambda *_: None)
    # Answers the POST with what the act returned, after its commit, instead of the confirmation (sign-in).
    finish: Callable[[str], Any] | None = None


class FieldProblem(UserError):
    """A domain rule refused one field of the form: shown beside that field and in the summary."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name


class FieldProblems(UserError):
    """The domain refused several fields at once: each shown beside its field (named as the form names it,
    "actions-0-due" for a row's field) and all in the summary; a problem with no field name is shown at the top."""

    def __init__(self, problems: list[tuple[str | None, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


def _field_named(form: FlaskForm, name: str) -> Any:
    # "actions-0-due": a field of the first row of the actions list.
    found: Any = form
    for part in name.split("-"):
        if hasattr(found, "entries"):
            found = found.entries[int(part)] if part.isdigit() and int(part) < len(found.entries) else None
        elif hasattr(found, "form"):
            found = found.form._fields.get(part)
        else:
            found = found._fields.get(part) if hasattr(found, "_fields") else None
        if found is None:
            return None
    return found


def _place(form: FlaskForm, refused: UserError) -> list[str]:
    """Put the domain's refusal beside the fields it names; return what belongs to no field."""
    problems = refused.problems if isinstance(refused, FieldProblems) else (
        [(refused.field_name, str(refused))] if isinstance(refused, FieldProblem) else [(None, str(refused))])
    unplaced = []
    for name, message in problems:
        target = _field_named(form, name) if name else None
        if target is None:
            unplaced.append(message)
        else:
            target.errors = [*target.errors, message]
    # WTForms keeps each form's errors once read: read again, they include the domain's.
    for top in form:
        for entry in getattr(top, "entries", []):
            if hasattr(entry, "form"):
                entry.form._errors = None
        if hasattr(top, "entries"):
            rows = [entry.errors for entry in top.entries]
            top.errors = rows if any(rows) else []
    form._errors = None
    return unplaced


JOURNEYS: dict[str, Journey] = {}


def journey(j: Journey) -> Journey:
    """Register a journey under its purpose."""
    JOURNEYS[j.purpose] = j
    return j


class FreshLinkForm(FlaskForm):
    """The one-button form that mails a fresh link to the person an expired or withdrawn link was for."""


def _settings():
    return current_app.config["AUDITCYCLE_SETTINGS"]


def request_context() -> AppContext:
    # Tests and rehearsals set the clock of a simulation; a council's record is dated with the real time.
    clock = current_app.config.get("AUDITCYCLE_CLOCK")
    return build_context(clock() if clock else None, _settings())


@contextmanager
def reading() -> Iterator[tuple[Session, AppContext]]:
    """A session that only reads: whatever a GET touched is rolled back."""
    url = _settings().database_url
    engine_for(url)  # the schema is checked once, by the engine decisions use
    with sessionmaker(bind=reader_for(url))() as session:
        try:
            yield session, request_context()
        finally:
            session.rollback()


@contextmanager
def deciding() -> Iterator[tuple[Session, AppContext]]:
    """A decision's one transaction: committed if the block ends normally, else nothing is kept."""
    with sessionmaker(bind=engine_for(_settings().database_url), expire_on_commit=False)() as session:
        try:
            ctx = request_context()
            check_clock(session, ctx)
            yield session, ctx
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _problem_page(problem: LinkProblem, token: str, *, posted: bool = False) -> tuple[str, int]:
    status = {LinkProblemKind.TAMPERED: 404, LinkProblemKind.WRONG_PURPOSE: 404, LinkProblemKind.USED: 200}.get(
        problem.kind, 410)
    # The confirmation is for the page the decision's POST redirected to; a replayed POST is told it was done before.
    done = get_flashed_messages(category_filter=["done"]) if problem.kind == LinkProblemKind.USED and not posted else []
    act = describe_act(problem.link.purpose, problem.link.subject_ref) if problem.link is not None else None
    return render_template("acts/problem.html", problem=problem, kind=problem.kind.value, done=done, act=act,
                           form=FreshLinkForm(), token=token), status


def _problem_now(token: str) -> tuple[str, int]:
    """Show why the link cannot be followed, as it stands now (a refused transaction's rows are gone)."""
    with reading() as (session, ctx):
        try:
            read_link(session, ctx, token)
        except LinkProblem as problem:
            return _problem_page(problem, token, posted=True)
    abort(409)


def _journey(link: Link) -> Journey:
    found = JOURNEYS.get(link.purpose)
    if found is None:
        abort(404)
    return found


def _page(j: Journey, session: Session, ctx: AppContext, link: Link, form: FlaskForm, token: str,
          errors: list[str] | None = None, status: int = 200) -> tuple[str, int]:
    facts = j.show(session, ctx, link)
    return render_template(j.template, form=form, token=token, errors=errors or [], link=link,
                           # A form kept open (saved, submitted again) confirms on its own page; a single
                           # decision's confirmation waits for the "already done" page its link then shows.
                           confirmations=[] if j.single_use else get_flashed_messages(category_filter=["done"]),
                           act=describe_act(link.purpose, link.subject_ref), **facts), status


@blueprint.route("/act/<token>", methods=["GET"])
def show(token: str):  # noqa: ANN201
    """Show the page a link opens, or say plainly why it cannot be followed; never write anything."""
    with reading() as (session, ctx):
        try:
            link = read_link(session, ctx, token)
        except LinkProblem as problem:
            return _problem_page(problem, token)
        j = _journey(link)
        form = j.form(data=j.prefill(session, ctx, link))
        j.prepare(session, ctx, link, form)
        return _page(j, session, ctx, link, form, token)


@blueprint.post("/act/<token>")
def act(token: str):  # noqa: ANN201
    """Make the link's decision from its page's form: once, as the link's holder, with its mail queued."""
    with reading() as (session, ctx):
        try:
            link = read_link(session, ctx, token)
        except LinkProblem as problem:
            return _problem_page(problem, token, posted=True)
        j = _journey(link)
        form = j.form()
        j.prepare(session, ctx, link, form)
        if not form.validate_on_submit():
            return _page(j, session, ctx, link, form, token, status=400)
        holder = link.staff_id
    try:
        # The credit encloses the transaction: rows flushed only at its commit are still the holder's.
        with acting_as(holder, origin=("web", request.remote_addr)), deciding() as (session, ctx):
            link = read_link(session, ctx, token, purpose=j.purpose)
            if j.single_use:
                use_link(session, ctx, link)
            confirmation = j.act(session, ctx, link, form)
    except LinkProblem:
        # Used in another tab a moment ago, say: read afresh, for the page to say by whom and when.
        return _problem_now(token)
    except UserError as refused:
        unplaced = _place(form, refused)
        with reading() as (session, ctx):
            try:
                link = read_link(session, ctx, token)
            except LinkProblem as problem:
                return _problem_page(problem, token)
            return _page(j, session, ctx, link, form, token, status=400, errors=unplaced)
    if j.finish is not None:
        return j.finish(confirmation)
    flash(confirmation, "done")
    return redirect(url_for("acts.show", token=token), code=303)


@blueprint.post("/act/<token>/fresh")
def fresh(token: str):  # noqa: ANN201
    """Mail a fresh link for the same act to the person an expired or withdrawn link was for."""
    if not FreshLinkForm().validate_on_submit():
        abort(400)
    try:
        with deciding() as (session, ctx):
            try:
                read_link(session, ctx, token)
            except LinkProblem as problem:
                if not problem.can_reissue:
                    return _problem_page(problem, token)
                sent_to = mail_fresh_link(session, ctx, problem.link)
            else:
                return redirect(url_for("acts.show", token=token), code=303)
    except UserError as refused:
        return render_template("acts/fresh.html", error=str(refused)), 409
    return render_template("acts/fresh.html", sent_to=sent_to)
