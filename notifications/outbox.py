"""Queue messages in the outbox, in the same transaction as the change that caused them."""
from datetime import datetime
from email.utils import make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.clock import wall_clock
from auditcycle.models import OutboxMessage
from auditcycle.models.enums import MessageStatus
from auditcycle.notifications.message import Composed, Recipient
from auditcycle.storage.transactions import transaction_info


def idempotency_key(*, phase: str, month: str | None, subject_ref: str, step: str, recipient: Recipient) -> str:
    """Return the key that makes a message unique: phase, month, subject, step and recipient."""
    return f"{phase}:{month or '-'}:{subject_ref}:{step}:{recipient.staff_id}"


def enqueue(
    session: Session,
    *,
    phase: str,
    month: str | None,
    subject_ref: str,
    step: str,
    recipient: Recipient,
    message: Composed,
    now: datetime,
    mail_domain: str,
) -> OutboxMessage | None:
    """Queue one message unless the same key is already queued; return the new row or None."""
    key = idempotency_key(phase=phase, month=month, subject_ref=subject_ref, step=step, recipient=recipient)
    queued = _queued_keys(session, f"{phase}:{month or '-'}:")
    if key in queued:
        return None
    queued.add(key)
    row = OutboxMessage(
        idempotency_key=key,
        phase=phase,
        subject_ref=subject_ref,
        step=step,
        recipient_id=recipient.staff_id,
        recipient_email=recipient.email,
        template=message.template,
        subject=message.subject,
        body_text=message.text,
        body_html=message.html,
        calendar=message.calendar,
        calendar_method=message.calendar_method,
        importance=message.importance,
        attachment_path=message.attachment_path,
        attachment_name=message.attachment_name,
        # Fixed at queueing so every retry carries the same Message-ID and clients collapse repeats.
        message_id=make_msgid(idstring=phase, domain=mail_domain),
        status=MessageStatus.PENDING,
        attempts=0,
        created_at=now,
        # Delivery runs on the real clock: a replayed `--now` in the future must not hold mail back.
        next_attempt_at=wall_clock(),
    )
    # Not flushed here: the unit of work inserts a phase's messages in batches, and the unique key
    # still refuses a copy queued by a concurrent run when it does.
    session.add(row)
    return row


def _queued_keys(session: Session, prefix: str) -> set[str]:
    """Return the keys already queued under a phase and month, loaded once per transaction."""
    cache: dict[str, set[str]] = transaction_info(session).setdefault("outbox.queued", {})
    if prefix not in cache:
        # A range on the unique index rather than LIKE, which neither engine can always serve from it.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        cache[prefix] = set(session.scalars(select(OutboxMessage.idempotency_key).where(
            OutboxMessage.idempotency_key >= prefix, OutboxMessage.idempotency_key < upper)))
    return cache[prefix]
