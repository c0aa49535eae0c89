"""Signed links: one act for one person on one record, single use, expiring, revocable.

The token in the URL carries only a purpose, a subject reference and a random id, signed with a salt of its
purpose; everything else (who it is for, when it expires, whether it was used or revoked) is the link's row.
A token is never logged or kept: the row holds the random id alone, and an error names no token.
"""
import re
import secrets
from datetime import date, datetime, timedelta
from enum import StrEnum

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.orm import Session, aliased

from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.core.text import text_problem
from auditcycle.links.keys import serializer, signing_keys
from auditcycle.models import Link, Staff
from auditcycle.notifications.notices import moment_label
from auditcycle.notifications.outbox import prefix_range
from auditcycle.storage.transactions import transaction_info

# A purpose is a short code ("action-sign-off"); a subject a record's reference ("ACT-2026-12-001"), never a name.
PURPOSE = re.compile(r"[a-z][a-z0-9-]{1,39}")
SUBJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,79}")
# Longer than any token this module makes: a huge value is refused before it is decoded.
MAX_TOKEN_CHARS = 600
REPLACED = "a newer link was sent"
# A sign-in link (auditcycle.console.sign_in) opens a session, so it lasts minutes, not days.
SIGN_IN = "sign-in"
DONE_ELSEWHERE = "done through another link"


class LinkProblemKind(StrEnum):
    """Why a link cannot be followed."""

    TAMPERED = "tampered"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED = "used"
    WRONG_PURPOSE = "wrong-purpose"


class LinkProblem(UserError):
    """A link that cannot be followed: its kind, a plain-English message and, when the link is known, its row."""

    def __init__(self, kind: LinkProblemKind, message: str, link: Link | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.link = link

    @property
    def can_reissue(self) -> bool:
        """Say whether a fresh link may be mailed to the link's person: it expired or was withdrawn, and they are still here."""
        # A link already replaced by a fresh one gets no button: the newer email has the link that works.
        return (self.kind in (LinkProblemKind.EXPIRED, LinkProblemKind.REVOKED) and self.link is not None
                and self.link.staff.active and self.link.revoked_reason != REPLACED)


def _same_act(link: Link) -> ColumnElement[bool]:
    """Return the condition for the links of one act by one person on one record (a notice's and a reminder's, say)."""
    return (Link.purpose == link.purpose) & (Link.subject_ref == link.subject_ref) & (Link.staff_id == link.staff_id)


def _problem(session: Session, ctx: AppContext, link: Link) -> LinkProblem | None:
    """Return what stops a known link being followed now, or None if it may be."""
    # The act is done once, through whichever of its links: the later click on any of them says so.
    done = link if link.used_at is not None else session.scalar(
        select(Link).where(_same_act(link), Link.used_at.is_not(None)).order_by(Link.used_at).limit(1))
    if done is not None:
        who = done.used_by.name if done.used_by is not None else done.staff.name
        return LinkProblem(LinkProblemKind.USED, f"This was already done by {who} at {moment_label(done.used_at, ctx.tz)}. "
                           "Nothing was changed.", link)
    if link.revoked_at is not None and link.revoked_reason == REPLACED:
        return LinkProblem(LinkProblemKind.REVOKED, "A newer link for this was mailed to you at "
                           f"{moment_label(link.revoked_at, ctx.tz)}: open it from the newest email. If it has not "
                           f"arrived, ask the Quality Assurance team ({ctx.settings.mail_from}).", link)
    if link.revoked_at is not None:
        return LinkProblem(LinkProblemKind.REVOKED, f"This link was withdrawn at {moment_label(link.revoked_at, ctx.tz)} "
                           f"({link.revoked_reason or 'no reason given'}). A fresh link can be mailed to you, "
                           f"or ask the Quality Assurance team ({ctx.settings.mail_from}).", link)
    if link.expires_at <= ctx.now:
        return LinkProblem(LinkProblemKind.EXPIRED, f"This link expired at {moment_label(link.expires_at, ctx.tz)}. "
                           "A fresh link can be mailed to you.", link)
    return None


def _tampered(ctx: AppContext) -> LinkProblem:
    return LinkProblem(LinkProblemKind.TAMPERED, "This link is not one we sent, or it was changed on the way (a mail "
                       "program may have cut it short). Open it again from the email, or ask the Quality Assurance "
                       f"team ({ctx.settings.mail_from}) for a new one.")


def link_expires_at(ctx: AppContext, deadline: date | datetime | None, purpose: str | None = None) -> datetime:
    """Return when a link sent now expires: the later of link_min_days from now and N working days after the deadline.

    A sign-in link expires sign_in_link_minutes after it is sent, whatever else.
    """
    if purpose == SIGN_IN:
        return ctx.now + timedelta(minutes=ctx.settings.sign_in_link_minutes)
    floor = ctx.now + timedelta(days=ctx.settings.link_min_days)
    if deadline is None:
        return floor
    n = ctx.settings.link_working_days_after_deadline
    if isinstance(deadline, datetime):
        after = ctx.timescales.working_days_after(deadline, n)
    else:
        after = ctx.timescales.due_at(ctx.timescales.add_working_days(deadline, n))
    return max(floor, after)


def _url(ctx: AppContext, keys: list[str], link: Link) -> str:
    # Only these three: no name, no staff id, no date of anything personal.
    token = serializer(keys, link.purpose).dumps({"p": link.purpose, "s": link.subject_ref, "i": link.id})
    return f"{ctx.settings.base_url}/act/{token}"


def _check_names(purpose: str, subject_ref: str) -> None:
    if not isinstance(purpose, str) or not PURPOSE.fullmatch(purpose):
        raise UserError("purpose: a link's purpose is a short code of lower-case letters, digits and hyphens, "
                        "such as action-sign-off")
    if not isinstance(subject_ref, str) or not SUBJECT.fullmatch(subject_ref):
        raise UserError("subject_ref: a link names a record by its reference (letters, digits, . _ : -), "
                        "such as ACT-2026-12-001, never by a person's name")


def issue_link(session: Session, ctx: AppContext, *, purpose: str, subject_ref: str, staff: Staff,
               deadline: date | datetime | None = None, key: str | None = None) -> str:
    """Make a link for one act by one person on one record and return its URL; with a key, the same key gives the same link."""
    _check_names(purpose, subject_ref)
    if not staff.active:
        raise UserError(f"staff: {staff.id} is no longer active, so is sent no link")
    if deadline is not None and (not isinstance(deadline, date)
                                 or isinstance(deadline, datetime) and deadline.tzinfo is None):
        raise UserError("deadline: a date, or a date and time with its zone, when the act falls due")
    if key is not None:
        _check_key(key)
    # Only once the request is sound: a refused one writes nothing, not even the database's first secret.
    return _issue(session, ctx, purpose=purpose, subject_ref=subject_ref, staff=staff,
                  expires_at=link_expires_at(ctx, deadline, purpose), key=key)


def hand_on(session: Session, ctx: AppContext, link: Link, *, to: Staff, key: str) -> str:
    """Make a link for another person to do a link's act on its record, lasting at least as long; return its URL."""
    if not to.active:
        raise UserError(f"staff: {to.id} is no longer active, so is sent no link")
    _check_key(key)
    return _issue(session, ctx, purpose=link.purpose, subject_ref=link.subject_ref, staff=to,
                  expires_at=_lasting(ctx, link), key=key)


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not key or len(key) > 255 or text_problem(key, multiline=False):
        raise UserError("key: one line of at most 255 characters, such as the message's idempotency key")


def _lasting(ctx: AppContext, link: Link) -> datetime:
    """Return when a fresh link for a link's act expires: no sooner than it, nor than link_min_days from now."""
    if link.purpose == SIGN_IN:
        return link_expires_at(ctx, None, SIGN_IN)
    return max(ctx.now + timedelta(days=ctx.settings.link_min_days), link.expires_at)


def _issue(session: Session, ctx: AppContext, *, purpose: str, subject_ref: str, staff: Staff, expires_at: datetime,
           key: str | None) -> str:
    keys = signing_keys(session, ctx, create=True)
    if key is not None and (existing := _by_key(session, key)) is not None:
        return _url(ctx, keys, _as_asked(existing, purpose, subject_ref, staff))
    link = Link(id=secrets.token_urlsafe(16), purpose=purpose, subject_ref=subject_ref, staff_id=staff.id,
                issue_key=key, created_at=ctx.now, expires_at=expires_at)
    # Not flushed here: a phase's links go in with its messages, in batches. A run racing this one with the
    # same key (the same message) is refused by the unique key when it commits, its messages with it.
    session.add(link)
    if key is not None:
        _issued(session, key)[key] = link
    return _url(ctx, keys, link)


def _issued(session: Session, key: str) -> dict[str, Link]:
    """Return this transaction's links by key under the key's phase and month: those stored, loaded once, and its own."""
    # A message's key ("book:2027-03:…") begins with its phase and month, as the outbox keeps them.
    prefix = ":".join(key.split(":", 2)[:2]) + ":"
    known: dict[str, dict[str, Link]] = transaction_info(session).setdefault("links.issued", {})
    if prefix not in known:
        lower, upper = prefix_range(prefix)
        with session.no_autoflush:  # this transaction's own links are added to the map as they are made
            known[prefix] = {link.issue_key: link for link in session.scalars(
                select(Link).where(Link.issue_key >= lower, Link.issue_key < upper))}
    return known[prefix]


def _by_key(session: Session, key: str) -> Link | None:
    return _issued(session, key).get(key)


def _as_asked(link: Link, purpose: str, subject_ref: str, staff: Staff) -> Link:
    if (link.purpose, link.subject_ref, link.staff_id) != (purpose, subject_ref, staff.id):
        raise UserError("key: already names the link for another act, record or person; give each message its own key")
    return link


def _claims(ctx: AppContext, keys: list[str], token: str) -> dict:
    """Return the token's verified payload: a purpose, a subject and an id, signed with that purpose's salt."""
    _, unverified = URLSafeSerializer(keys, salt="-").loads_unsafe(token)
    claimed = unverified.get("p") if isinstance(unverified, dict) else None
    if not isinstance(claimed, str) or not PURPOSE.fullmatch(claimed):
        raise _tampered(ctx)
    try:
        payload = serializer(keys, claimed).loads(token)
    except BadData:
        raise _tampered(ctx) from None
    if (not isinstance(payload, dict) or set(payload) != {"p", "s", "i"} or payload["p"] != claimed
            or not all(isinstance(v, str) for v in payload.values())):
        raise _tampered(ctx)
    return payload


def read_link(session: Session, ctx: AppContext, token: str, purpose: str | None = None) -> Link:
    """Return the link a token names if it may be followed now; else raise a LinkProblem saying why."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise _tampered(ctx)
    keys = signing_keys(session, ctx)
    if not keys:
        raise _tampered(ctx)
    payload = _claims(ctx, keys, token)
    # Read afresh: another request may have used the link since this session last saw it.
    link = session.get(Link, payload["i"], populate_existing=True)
    if link is None or (link.purpose, link.subject_ref) != (payload["p"], payload["s"]):
        raise _tampered(ctx)
    if purpose is not None and link.purpose != purpose:
        raise LinkProblem(LinkProblemKind.WRONG_PURPOSE, "This link is for something else, not this page. Open it "
                          "again from the email it came in.", link)
    if problem := _problem(session, ctx, link):
        raise problem
    return link


def use_link(session: Session, ctx: AppContext, link: Link) -> None:
    """Mark a link used, in the caller's transaction; exactly one of two uses at once succeeds, the other is refused."""
    # Conditional on the rows as they are now, not as this session read them: no read-then-write gap.
    sibling = aliased(Link)
    done_elsewhere = exists().where(sibling.purpose == link.purpose, sibling.subject_ref == link.subject_ref,
                                    sibling.staff_id == link.staff_id, sibling.used_at.is_not(None))
    result = session.execute(
        update(Link)
        .where(Link.id == link.id, Link.used_at.is_(None), Link.revoked_at.is_(None), Link.expires_at > ctx.now,
               ~done_elsewhere)
        .values(used_at=ctx.now, used_by_id=link.staff_id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        session.refresh(link)
        raise _problem(session, ctx, link) or _tampered(ctx)
    # The act's other links (an earlier email's) are withdrawn with it: a use racing through one of them
    # finds its row withdrawn, or meets this row's lock, and fails.
    session.execute(
        update(Link)
        .where(_same_act(link), Link.id != link.id, Link.used_at.is_(None), Link.revoked_at.is_(None))
        .values(revoked_at=ctx.now, revoked_reason=DONE_ELSEWHERE)
        .execution_options(synchronize_session=False))
    session.refresh(link)


def settle_links(session: Session, ctx: AppContext, *, purpose: str, subject_ref: str, by: str) -> int:
    """Mark every other unused link for an act on a record used by the one who did it; return how many.

    For an act several people are each sent a link to, and which is done once: the others' links then say who
    did it and when, as a used link does.
    """
    result = session.execute(
        update(Link)
        .where(Link.purpose == purpose, Link.subject_ref == subject_ref, Link.used_at.is_(None),
               Link.revoked_at.is_(None))
        .values(used_at=ctx.now, used_by_id=by)
        .execution_options(synchronize_session=False))
    return result.rowcount


def revoke_links(session: Session, ctx: AppContext, *, staff_id: str, reason: str) -> int:
    """Withdraw every unused link a person holds (they left, say), and return how many."""
    if not reason or len(reason) > 200 or text_problem(reason, multiline=False):
        raise UserError("reason: one line of at most 200 characters, such as \"left the council\"")
    result = session.execute(
        update(Link)
        .where(Link.staff_id == staff_id, Link.used_at.is_(None), Link.revoked_at.is_(None))
        .values(revoked_at=ctx.now, revoked_reason=reason)
        .execution_options(synchronize_session=False))
    session.expire_all()
    return result.rowcount


def reissue(session: Session, ctx: AppContext, link: Link) -> str:
    """Mail-me-a-fresh-link: make a new link for the same act, person and record, withdraw the old ones, return its URL."""
    session.refresh(link)
    problem = _problem(session, ctx, link)
    if problem is not None and (problem.kind == LinkProblemKind.USED or link.revoked_reason == REPLACED):
        raise problem
    if not link.staff.active:
        raise UserError(f"{link.staff_id} is no longer active, so is sent no new link; ask the Quality Assurance "
                        f"team ({ctx.settings.mail_from})")
    session.execute(
        update(Link)
        .where(_same_act(link), Link.used_at.is_(None), Link.revoked_at.is_(None))
        .values(revoked_at=ctx.now, revoked_reason=REPLACED)
        .execution_options(synchronize_session=False))
    session.expire_all()
    fresh = Link(id=secrets.token_urlsafe(16), purpose=link.purpose, subject_ref=link.subject_ref,
                 staff_id=link.staff_id, created_at=ctx.now,
                 expires_at=_lasting(ctx, link))
    session.add(fresh)
    session.flush()
    return _url(ctx, signing_keys(session, ctx, create=True), fresh)
