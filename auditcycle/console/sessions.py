"""Console sessions, kept on the server: begun at sign-in, ended by sign-out, idleness or age.

The browser holds a random token in the signed session cookie; the table holds its SHA-256, so a copy
of the database opens no session. A session ends after `console_idle_minutes` (30) without a request,
or `console_session_hours` (8) after it began, whichever comes first.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.core.errors import PermissionDenied
from auditcycle.core.text import Redacted
from auditcycle.models import Staff, StaffSession
from auditcycle.people.permissions import PERMISSIONS, authorise
from auditcycle.storage.events import log_event

# Who may sign in (the QA team, and the managers and practitioners who see their part of the tracker).
MAY_SIGN_IN = "console-sign-in"
# Seen again within this, a session is not written to: a page's assets and quick clicks cost no write.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Ended:
    """Why the browser's session no longer signs anyone in, in words for the sign-in page."""

    reason: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, ctx: AppContext, *, staff_id: str, method: str) -> str:
    """Begin a session for a member of staff allowed to sign in to the console; return the token for the browser."""
    try:
        staff = authorise(session, command=MAY_SIGN_IN, staff_id=staff_id)
    except PermissionDenied as refused:
        raise PermissionDenied(f"Only {PERMISSIONS[MAY_SIGN_IN][1]} may sign in to the console, while their staff "
                               f"record is active ({refused})") from None
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(id=_hash(token), staff_id=staff.id, method=method, started_at=ctx.now,
                             last_seen_at=ctx.now))
    log_event(session, ctx, subject_ref="console", kind="signed-in", actor_id=staff.id,
              detail=Redacted.fixed(f"by {method}"))
    return token


def _ending(ctx: AppContext, row: StaffSession) -> str | None:
    settings = ctx.settings
    if row.ended_at is not None:
        return "You have signed out." if row.end_reason == "signed out" else "Your session has ended."
    if ctx.now - row.started_at >= timedelta(hours=settings.console_session_hours):
        return f"You were signed out {settings.console_session_hours} hours after you signed in."
    if ctx.now - row.last_seen_at >= timedelta(minutes=settings.console_idle_minutes):
        return f"You were signed out after {settings.console_idle_minutes} minutes without activity."
    return None


def resume(session: Session, ctx: AppContext, token: str | None) -> Staff | Ended | None:
    """Return who the browser's session signs in, why it no longer does, or None when it has none.

    A live session is marked seen (at most once a minute); one past its time is ended here.
    """
    if not token:
        return None
    row = session.get(StaffSession, _hash(token))
    if row is None:
        return None
    if (why := _ending(ctx, row)) is not None:
        if row.ended_at is None:
            row.ended_at, row.end_reason = ctx.now, "timed out"
        return Ended(why)
    if not row.staff.active:
        row.ended_at, row.end_reason = ctx.now, "no longer active"
        return Ended("Your account is no longer active.")
    if ctx.now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = ctx.now
    return row.staff


def end_session(session: Session, ctx: AppContext, token: str | None) -> None:
    """End the browser's session (sign-out): it signs no one in again."""
    row = session.get(StaffSession, _hash(token)) if token else None
    if row is not None and row.ended_at is None:
        row.ended_at, row.end_reason = ctx.now, "signed out"
        log_event(session, ctx, subject_ref="console", kind="signed-out", actor_id=row.staff_id,
                  detail=Redacted.fixed(""))
