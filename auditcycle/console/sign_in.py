"""Signing in to the console by a link mailed to a member of staff who may sign in: the way in with no OpenID
provider.

A link is single use and lasts `sign_in_link_minutes` (15); its page signs in only by a POST from its button.
Asked for twice in the same minute (a double click), the same link and the same one email serve both.
"""
from datetime import UTC

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.console.sessions import MAY_SIGN_IN
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError, shown
from auditcycle.links.tokens import SIGN_IN, issue_link, link_expires_at
from auditcycle.models import Staff
from auditcycle.notifications.console import compose_sign_in_link
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.notices import moment_label
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.people.permissions import PERMISSIONS, may

PHASE = "console"


def _subject(ctx: AppContext) -> str:
    # One act per minute asked: each sign-in is its own act, and a double click within the minute is the same one.
    return f"console:{ctx.now.astimezone(UTC):%Y%m%d%H%M}"


def queue_sign_in_link(session: Session, ctx: AppContext, staff: Staff) -> str:
    """Queue a sign-in link to a member of staff who may sign in, in the caller's transaction; return their address."""
    if ctx.settings.oidc_issuer is not None:
        # A mailed link would skip the council's own sign-in checks (multi-factor, conditional access).
        raise UserError("this council signs in with its own sign-in service (oidc_issuer is set), so no sign-in "
                        "links are sent: open the console and choose \"Sign in\"")
    if not may(session, MAY_SIGN_IN, staff):
        raise UserError(f"{shown(staff.id)} ({staff.role.value.replace('_', ' ')}) may not sign in to the console: "
                        f"only {PERMISSIONS[MAY_SIGN_IN][1]} may")
    subject = _subject(ctx)
    key = MessageKey(PHASE, None, subject, SIGN_IN)
    url = issue_link(session, ctx, purpose=SIGN_IN, subject_ref=subject, staff=staff,
                     key=f"{key.for_recipient(Recipient.of(staff))}:{SIGN_IN}")
    message = compose_sign_in_link(recipient_name=staff.name, url=url,
                                   expires_label=moment_label(link_expires_at(ctx, None, SIGN_IN), ctx.tz),
                                   minutes=ctx.settings.sign_in_link_minutes)
    enqueue(session, ctx, key, staff, message)
    return staff.email


def invite(session: Session, ctx: AppContext, staff_id: str) -> str:
    """Queue a sign-in link to the member of staff with this id, if they may sign in (`auditcycle web --invite`)."""
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise UserError(f"--invite {shown(staff_id)}: no active member of staff has that id")
    return queue_sign_in_link(session, ctx, staff)


def ask_for_link(session: Session, ctx: AppContext, email: str) -> None:
    """Queue a sign-in link if the address is that of active staff who may sign in; otherwise do nothing, and say
    nothing."""
    # The page answers the same either way, so it cannot be used to learn who works here or in what role.
    staff = session.scalar(select(Staff).where(func.lower(Staff.email) == email.strip().lower(), Staff.active))
    if staff is not None and may(session, MAY_SIGN_IN, staff) and ctx.settings.oidc_issuer is None:
        queue_sign_in_link(session, ctx, staff)
