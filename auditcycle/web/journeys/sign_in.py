"""Sign in to the console from the link mailed to a member of staff: the page's button signs in by POST."""
from flask import redirect, session, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from sqlalchemy.orm import Session
from wtforms import SubmitField

from auditcycle.console.sessions import start_session
from auditcycle.core.context import AppContext
from auditcycle.links.tokens import SIGN_IN
from auditcycle.models import Link
from auditcycle.web.acts import Journey, journey

SESSION_KEY = "console"


class SignInForm(FlaskForm):
    """One button: signing in is a POST, so a mail scanner opening the link signs no one in."""

    submit = SubmitField("Sign in", widget=GovSubmitInput())


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    return {"caption": "Audit console", "title": "Sign in", "name": link.staff.name}


def _sign_in(session: Session, ctx: AppContext, link: Link, form: SignInForm) -> str:
    return start_session(session, ctx, staff_id=link.staff_id, method="link")


def begin(token: str):  # noqa: ANN201
    """Start the browser's session afresh with a new session's token, and open the person's first console page (any
    way of signing in)."""
    # A new cookie at sign-in: whatever the browser held before (a CSRF token, an old session) is dropped.
    session.clear()
    session[SESSION_KEY] = token
    return redirect(url_for("console.start"), code=303)


journey(Journey(SIGN_IN, "journeys/sign_in.html", SignInForm, _show, _sign_in, finish=begin))
