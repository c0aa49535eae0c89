"""Queue messages in the outbox, in the same transaction as the change that caused them."""
import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from email.utils import make_msgid
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month, wall_clock
from auditcycle.core.context import AppContext
from auditcycle.models import OutboxItem, OutboxMessage, Staff
from auditcycle.models.enums import MessageStatus
from auditcycle.notifications.message import Composed, Recipient
from auditcycle.storage.transactions import transaction_info


@dataclass(frozen=True)
class MessageKey:
    """What, with its recipient, makes a message unique: the phase, the month, the subject and the step."""

    phase: str
    month: Month | str | None
    subject_ref: str
    step: str

    @property
    def prefix(self) -> str:
        """Return the part of the key shared by one phase's messages of one month."""
        return f"{self.phase}:{self.month or '-'}:"

    def for_recipient(self, recipient: Recipient) -> str:
        """Return the idempotency key of this message to one recipient."""
        return f"{self.prefix}{self.subject_ref}:{self.step}:{recipient.staff_id}"


T = TypeVar("T")


def mail_domain(ctx: AppContext) -> str:
    """Return the domain Message-IDs are made under: the QA mailbox's."""
    return str(ctx.settings.mail_from).rsplit("@", 1)[-1]


def enqueue(session: Session, ctx: AppContext, key: MessageKey, to: Recipient | Staff,
            message: Composed) -> OutboxMessage | None:
    """Queue one message in the caller's transaction unless the same key is already queued; return the new row.

    This is the one way a message enters the outbox; the gateway sends it after the commit.
    """
    recipient = to if isinstance(to, Recipient) else Recipient.of(to)
    idempotency_key = key.for_recipient(recipient)
    queued = _queued_keys(session, key.prefix)
    if idempotency_key in queued:
        return None
    queued.add(idempotency_key)
    row = OutboxMessage(
        idempotency_key=idempotency_key,
        phase=key.phase,
        subject_ref=key.subject_ref,
        step=key.step,
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
        message_id=make_msgid(idstring=key.phase, domain=mail_domain(ctx)),
        status=MessageStatus.PENDING,
        attempts=0,
        created_at=ctx.now,
        # Due at once on either clock: a replayed `--now` in the future must not hold mail back, nor a
        # simulated clock in the past find it not yet due (the gateway may run on either).
        next_attempt_at=min(wall_clock(), ctx.now),
    )
    # Not flushed here: the unit of work inserts a phase's messages in batches, and the unique key
    # still refuses a copy queued by a concurrent run when it does.
    session.add(row)
    return row


def enqueue_digest(session: Session, ctx: AppContext, key: MessageKey, to: Recipient | Staff,
                   items: Sequence[tuple[MessageKey, T]], compose: Callable[[list[T]], Composed]) -> OutboxMessage | None:
    """Queue one message telling a recipient of the items not yet told them; return the new row, or None if none is new.

    Each item is keyed as it would be as a message alone. A single new item goes alone under its own key; several
    go as one digest under `key`, its step naming the items, and each item is recorded as told. So a re-run sends
    nothing, and a later run the same day tells the person only of the items new since.
    """
    recipient = to if isinstance(to, Recipient) else Recipient.of(to)
    new: dict[str, tuple[MessageKey, T]] = {}
    for item_key, item in items:
        idempotency_key = item_key.for_recipient(recipient)
        if idempotency_key not in new and not told(session, item_key, recipient):
            new[idempotency_key] = (item_key, item)
    if not new:
        return None
    message = compose([item for _, item in new.values()])
    if len(new) == 1:
        [(item_key, _)] = new.values()
        return enqueue(session, ctx, item_key, recipient, message)
    # The same new items give the same key, so a run retried after a failed commit queues the same digest.
    names = hashlib.sha256("\n".join(sorted(new)).encode()).hexdigest()[:12]
    row = enqueue(session, ctx, MessageKey(key.phase, key.month, key.subject_ref, f"{key.step}-{names}"), recipient,
                  message)
    if row is None:
        return None
    for idempotency_key, (item_key, _) in new.items():
        session.add(OutboxItem(digest=row, item_key=idempotency_key))
        _told_keys(session, item_key.prefix).add(idempotency_key)
    return row


def steps_told(session: Session, *, phase: str, subject_refs: Collection[str],
               steps: Collection[str]) -> set[tuple[str, str]]:
    """Return the (subject, step) pairs of a phase that have reached the outbox, alone or as an item of a digest."""
    told_pairs = set(session.execute(select(OutboxMessage.subject_ref, OutboxMessage.step).where(
        OutboxMessage.phase == phase, OutboxMessage.subject_ref.in_(subject_refs),
        OutboxMessage.step.in_(steps))).tuples())
    lower, upper = prefix_range(f"{phase}:")
    for item_key in session.scalars(select(OutboxItem.item_key).where(OutboxItem.item_key >= lower,
                                                                      OutboxItem.item_key < upper)):
        # An item keeps the key it would have had alone: phase:month:subject:step:recipient.
        parts = item_key.split(":", 2)[-1].rsplit(":", 2)
        if len(parts) == 3 and parts[0] in subject_refs and parts[1] in steps:
            told_pairs.add((parts[0], parts[1]))
    return told_pairs


def told(session: Session, key: MessageKey, to: Recipient | Staff) -> bool:
    """Say whether a message under this key has reached the outbox for a recipient, alone or in a digest."""
    recipient = to if isinstance(to, Recipient) else Recipient.of(to)
    idempotency_key = key.for_recipient(recipient)
    return idempotency_key in _queued_keys(session, key.prefix) or idempotency_key in _told_keys(session, key.prefix)


def prefix_range(prefix: str) -> tuple[str, str]:
    """Return the bounds of the keys starting with a prefix, as a range an index serves."""
    # A range on the unique index rather than LIKE, which neither engine can always serve from it.
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _told_keys(session: Session, prefix: str) -> set[str]:
    """Return the item keys digests have told under a phase and month, loaded once per transaction."""
    cache: dict[str, set[str]] = transaction_info(session).setdefault("outbox.told", {})
    if prefix not in cache:
        lower, upper = prefix_range(prefix)
        cache[prefix] = set(session.scalars(select(OutboxItem.item_key).where(
            OutboxItem.item_key >= lower, OutboxItem.item_key < upper)))
    return cache[prefix]


def _queued_keys(session: Session, prefix: str) -> set[str]:
    """Return the keys already queued under a phase and month, loaded once per transaction."""
    cache: dict[str, set[str]] = transaction_info(session).setdefault("outbox.queued", {})
    if prefix not in cache:
        lower, upper = prefix_range(prefix)
        cache[prefix] = set(session.scalars(select(OutboxMessage.idempotency_key).where(
            OutboxMessage.idempotency_key >= lower, OutboxMessage.idempotency_key < upper)))
    return cache[prefix]


def release_claims(session: Session, holder: str) -> int:
    """Put the messages a dead sender had claimed back in the queue, due now; return how many.

    Call only for a holder known to be dead: a live sender's claimed messages may be on the wire.
    """
    return session.execute(
        update(OutboxMessage).where(OutboxMessage.status == MessageStatus.SENDING, OutboxMessage.claimed_by == holder)
        .values(status=MessageStatus.PENDING, next_attempt_at=wall_clock(), claimed_by=None)).rowcount


def invited(session: Session, *, phase: str, subject_ref: str) -> list[Staff]:
    """Return the staff sent a meeting request under a phase and reference, by id: an event's attendees."""
    sent = select(OutboxMessage.recipient_id).where(
        OutboxMessage.phase == phase, OutboxMessage.subject_ref == subject_ref,
        OutboxMessage.calendar_method == "REQUEST")
    return list(session.scalars(select(Staff).where(Staff.id.in_(sent)).order_by(Staff.id)))
