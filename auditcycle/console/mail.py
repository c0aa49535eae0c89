"""The console's mail page: every message the outbox holds, found by recipient, reference or kind, and a failed
message sent again. The one sender (auditcycle deliver --watch, or the deliver deployment) sends it after the commit."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from auditcycle.core.clock import wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.core.text import Redacted
from auditcycle.models import OutboxMessage
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
                    attempts=m.attempts, last_code=m.last_code, last_error=m.last_error, sent_at=m.sent_at)
            for m in session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit))]
    return rows, total


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
