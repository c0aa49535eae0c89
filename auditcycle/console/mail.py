"""The console's mail page: every message the outbox holds, found by recipient, reference or kind; a failed
message sent again, and a fresh link sent for the acts a message asked of someone. The one sender (auditcycle
deliver --watch, or the deliver deployment) sends it after the commit."""
import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from auditcycle.core.clock import wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.core.text import Redacted
from auditcycle.links.fresh import mail_fresh_link
from auditcycle.models import Link, OutboxItem, OutboxMessage
from auditcycle.models.enums import MessageStatus
from auditcycle.people.permissions import authorise
from auditcycle.storage.events import log_event

PAGE_SIZE = 50


@dataclass(frozen=True)
class MailRow:
    """One message as the console lists it: who it went to, what about, and how its delivery went."""

    id: int
    reference: str
    queued_at: datetime
    to: str
    kind: str
    about: str
    subject: str
    status: str
    attempts: int
    last_code: int | None
    last_error: str | None
    sent_at: datetime | None
    links: str | None = None  # the version of the links it asked someone to use that still work; None if none do


def mail_reference(message_id: int) -> str:
    """Return a message's reference as the tracker and the console show it (M000123)."""
    return f"M{message_id:06d}"


def find_mail(session: Session, *, text: str | None = None, status: MessageStatus | None = None,
              limit: int = PAGE_SIZE) -> tuple[list[MailRow], int]:
    """Return the newest messages matching the search (recipient, reference, kind or M-number), and how many match."""
    query = select(OutboxMessage)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    if text and (wanted := text.strip()):
        like = f"%{wanted.lower()}%"
        number = wanted.upper().removeprefix("M")
        query = query.where(or_(func.lower(OutboxMessage.recipient_email).like(like),
                                func.lower(OutboxMessage.subject_ref).like(like),
                                func.lower(OutboxMessage.template).like(like),
                                OutboxMessage.id == (int(number) if number.isdigit() else -1)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = [MailRow(id=m.id, reference=mail_reference(m.id), queued_at=m.created_at, to=m.recipient_email,
                    kind=m.template.replace("_", " "), about=m.subject_ref, subject=m.subject, status=m.status.value,
                    attempts=m.attempts, last_code=m.last_code, last_error=m.last_error, sent_at=m.sent_at,
                    links=_version(_live_links(session, m)))
            for m in session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit))]
    return rows, total


def _carried(session: Session, message: OutboxMessage) -> list[Link]:
    """Return the links a message carried: each is issued under the message's key, or a digest item's."""
    keys = [message.idempotency_key, *session.scalars(select(OutboxItem.item_key)
                                                      .where(OutboxItem.digest_id == message.id))]
    return list(session.scalars(select(Link).where(or_(*(Link.issue_key.startswith(f"{key}:", autoescape=True)
                                                         for key in keys))).order_by(Link.created_at)))


def _live_links(session: Session, message: OutboxMessage) -> list[Link]:
    """Return, for each act the message asked of its recipient, the link that still works for it, if any does.

    An act done through any of its links has none; one whose link was replaced by a fresh link has that one.
    """
    live: dict[tuple[str, str, str], Link] = {}
    for carried in _carried(session, message):
        act = (carried.purpose, carried.subject_ref, carried.staff_id)
        if act in live:
            continue
        links = session.scalars(select(Link).where(Link.purpose == act[0], Link.subject_ref == act[1],
                                                   Link.staff_id == act[2]).order_by(Link.created_at.desc())).all()
        if any(link.used_at is not None for link in links):
            continue
        if (current := next((link for link in links if link.revoked_at is None), None)) is not None:
            live[act] = current
    return list(live.values())


def _version(links: list[Link]) -> str | None:
    # Names the set of working links without showing their ids: a page opened before a resend is out of date.
    if not links:
        return None
    return hashlib.sha256("|".join(sorted(link.id for link in links)).encode()).hexdigest()[:16]


def resend_links(session: Session, ctx: AppContext, *, message_id: int, by: str, version: str) -> tuple[str, int]:
    """Send a fresh link for each act a message asked of its recipient that is still to do, once; return to whom and how many.

    `version` is what the page showed (MailRow.links): a second tab or click, after the links were already sent
    again, is refused and nothing more is sent. The old links stop working; the fresh ones go by the one sender.
    """
    actor = authorise(session, command="console", staff_id=by)
    message = session.get(OutboxMessage, message_id, with_for_update=True)  # two tabs at once take turns here
    if message is None:
        raise UserError(f"{mail_reference(message_id)}: no such message")
    live = _live_links(session, message)
    if not live:
        raise UserError(f"{mail_reference(message_id)} has no link still to use: what it asked is done, withdrawn "
                        "or it carried no link. Nothing was sent.")
    if _version(live) != version:
        raise UserError(f"Fresh links for {mail_reference(message_id)} were sent after this page was opened. "
                        "Nothing more was sent: reload the page to send another.")
    for link in live:
        to = mail_fresh_link(session, ctx, link)
    log_event(session, ctx, subject_ref=mail_reference(message_id), kind="links-resent", actor_id=actor.id,
              detail=Redacted.fixed(f"{len(live)} fresh link{'s' if len(live) != 1 else ''} to {message.recipient_id}"))
    return to, len(live)


def retry_message(session: Session, ctx: AppContext, *, message_id: int, by: str) -> OutboxMessage:
    """Put a failed message back in the queue, due now, as a member of the QA team; a message not failed is refused."""
    actor = authorise(session, command="console", staff_id=by)
    message = session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None:
        raise UserError(f"{mail_reference(message_id)}: no such message")
    if message.status != MessageStatus.FAILED:
        raise UserError(f"{mail_reference(message_id)} is {message.status.value}, not failed, so there is nothing to "
                        "retry. Nothing was changed.")
    message.status, message.attempts = MessageStatus.PENDING, 0
    # The sender compares with the real clock, whatever a simulation's decision clock says.
    message.next_attempt_at = wall_clock()
    log_event(session, ctx, subject_ref=mail_reference(message_id), kind="mail-retried", actor_id=actor.id,
              detail=Redacted.fixed(f"after {message.last_code or 'no'} reply"))
    return message
