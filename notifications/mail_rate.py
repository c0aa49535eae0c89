"""The sending mailbox's limits: how many messages may go now, counted in the database across every sender.

Each window (a minute, an hour, a day) is rolling, as Microsoft 365 counts it, and runs on the clock the
gateway is given, so a simulated month counts its waits in simulated time. The count is the table of sends
(MailSend), read and written under a lock on the mailbox (`serialise`: an advisory lock on PostgreSQL, the
write lock on SQLite), so two senders in two processes never exceed a limit together.
"""
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.orm import Session

from auditcycle.core.settings import MailRateSettings, Settings
from auditcycle.models import MailSend
from auditcycle.storage.db import serialise

DAY = timedelta(days=1)
WINDOWS = (("per_minute", timedelta(minutes=1)), ("per_hour", timedelta(hours=1)), ("per_day", DAY))


def sending_mailbox(settings: Settings) -> str:
    """Return the mailbox whose limits apply: the From address, as the provider counts it."""
    return str(settings.mail_from).lower()


@dataclass
class Quota:
    """What a mailbox has used of each window at a moment, and when its oldest send in each leaves it."""

    at: datetime
    rate: MailRateSettings
    used: dict[str, int]
    oldest: dict[str, datetime | None]

    def _limits(self) -> list[tuple[str, timedelta, int]]:
        return [(name, length, limit) for name, length in WINDOWS
                if (limit := getattr(self.rate, name)) is not None]

    @property
    def reserved_from(self) -> int | None:
        """Return the day's count from which only urgent mail may go: the start of the reserve."""
        if self.rate.per_day is None:
            return None
        return math.floor(self.rate.per_day * (1 - self.rate.immediate_response_reserve))

    def room(self, urgent: bool) -> int:
        """Return how many more messages of this kind may go now."""
        rooms = [limit - self.used[name] for name, _, limit in self._limits()]
        if not urgent and self.reserved_from is not None:
            rooms.append(self.reserved_from - self.used["per_day"])
        return max(min(rooms, default=1_000_000_000), 0)

    def take(self) -> None:
        """Count one send now in every window."""
        for name, _ in WINDOWS:
            self.used[name] += 1
            self.oldest[name] = self.oldest[name] or self.at

    def frees_at(self, urgent: bool) -> datetime:
        """Return when a message of this kind held back now may next go: when each full window frees a place."""
        moments = [self.at]
        for name, length, limit in self._limits():
            full = self.used[name] >= limit or (not urgent and name == "per_day"
                                                and self.used[name] >= (self.reserved_from or 0))
            if full:
                moments.append((self.oldest[name] or self.at) + length)
        return max(moments)

    @property
    def left_today(self) -> int | None:
        """Return how many messages the rolling day still allows, or None when the day has no limit."""
        return None if self.rate.per_day is None else max(self.rate.per_day - self.used["per_day"], 0)


def read_quota(session: Session, settings: Settings, at: datetime) -> Quota:
    """Lock the sending mailbox's count for this transaction and return what it has used of each window."""
    mailbox = sending_mailbox(settings)
    serialise(session, f"mail-rate:{mailbox}")
    # Sends older than the longest window count for nothing: forgotten here, so the table stays a day long.
    session.execute(delete(MailSend).where(MailSend.mailbox == mailbox, MailSend.sent_at <= at - DAY))
    columns = []
    for _, length in WINDOWS:
        inside = MailSend.sent_at > at - length
        columns += [func.count(case((inside, 1))), func.min(case((inside, MailSend.sent_at)))]
    row = session.execute(select(*columns).where(MailSend.mailbox == mailbox)).one()
    used = {name: row[2 * i] for i, (name, _) in enumerate(WINDOWS)}
    oldest = {name: _aware(row[2 * i + 1]) for i, (name, _) in enumerate(WINDOWS)}
    return Quota(at=at, rate=settings.mail_rate, used=used, oldest=oldest)


def record_sends(session: Session, settings: Settings, at: datetime, message_ids: list[int]) -> None:
    """Count these messages as sent from the mailbox now (before they go, so no parallel sender takes their places)."""
    if message_ids:
        mailbox = sending_mailbox(settings)
        session.execute(insert(MailSend), [{"mailbox": mailbox, "sent_at": at, "outbox_message_id": i}
                                           for i in message_ids])


def give_back(session: Session, message_ids: list[int]) -> None:
    """Forget the counted sends of messages put back in the queue unsent."""
    if message_ids:
        session.execute(delete(MailSend).where(MailSend.outbox_message_id.in_(message_ids)))


def _aware(value: datetime | str | None) -> datetime | None:
    """Return a window's oldest send as an aware UTC time (SQLite returns MIN() of a timestamp as text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
