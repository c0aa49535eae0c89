"""The one gateway: drain the outbox after commit, over SMTP or into the outbox folder."""
import hashlib
import logging
import math
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import encoders, policy
from email.charset import Charset
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from auditcycle.core.clock import wall_clock
from auditcycle.core.context import context_at
from auditcycle.core.errors import UserError
from auditcycle.core.faults import AFTER_ACCEPT, MID_BATCH, checkpoint
from auditcycle.core.settings import Settings
from auditcycle.models import OutboxMessage, Staff
from auditcycle.models.enums import MessageStatus, Role
from auditcycle.notifications.mail_rate import DAY, Quota, give_back, read_quota, record_sends, sending_mailbox
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.notifications.render import one_line, render
from auditcycle.notifications.transport import DeliveryError, Transport, outbox_name, transport_for
from auditcycle.notifications.urgency import Urgency, urgency, urgency_order
from auditcycle.storage.db import lazy_commits

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# CRLF line endings as SMTP needs them; long subjects are not folded just after "Subject:", which some
# parsers then read with a leading space (RFC 5322 allows 998 characters a line).
MAX_LINE = 998
MAIL_POLICY = policy.compat32.clone(linesep="\r\n", max_line_length=MAX_LINE)
UTF8_8BIT = Charset("utf-8")
UTF8_8BIT.body_encoding = None  # 8bit, as EmailMessage sends UTF-8 text over SMTP
# A fault in the mail set-up is retried at this pace until an operator fixes it; no mail is given up.
HOLD_RETRY = timedelta(minutes=15)


@dataclass
class DeliveryReport:
    """What one drain of the outbox did."""

    sent: int = 0
    retrying: int = 0
    held: int = 0
    failed: int = 0
    held_back: int = 0  # put off by the mailbox's limits until their window frees: not failures
    failures: list[str] = field(default_factory=list)
    failed_ids: list[int] = field(default_factory=list)


def build_email(row: OutboxMessage, settings: Settings) -> Message:
    """Build the MIME message: text, HTML and, for invites, a text/calendar alternative."""
    # The classic email.mime classes: the same bytes as EmailMessage for these simple parts, at a
    # third of the cost, since each header is not parsed into an object only to be written out again.
    alternative = MIMEMultipart("alternative", policy=MAIL_POLICY)
    alternative.attach(_text(row.body_text, "plain"))
    alternative.attach(_text(row.body_html, "html"))
    if row.calendar:
        part = _text(row.calendar, "calendar")
        part.set_param("method", row.calendar_method or "REQUEST")
        alternative.attach(part)
    msg: Message = alternative
    if row.attachment_path:
        # Read at send time: the file was written before the row committed and is kept with the report.
        msg = MIMEMultipart("mixed", policy=MAIL_POLICY)
        msg.attach(alternative)
        name = row.attachment_name or Path(row.attachment_path).name
        maintype, subtype = (mimetypes.guess_type(name)[0] or "application/octet-stream").split("/")
        attachment = MIMEBase(maintype, subtype, policy=MAIL_POLICY)
        attachment.set_payload(Path(row.attachment_path).read_bytes())
        encoders.encode_base64(attachment)
        attachment.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
        msg.attach(attachment)
    msg["From"] = formataddr((one_line(settings.mail_from_name), str(settings.mail_from)), charset="utf-8")
    msg["To"] = _header(row.recipient_email)
    msg["Subject"] = _header(row.subject)
    msg["Date"] = format_datetime(row.created_at)
    msg["Message-ID"] = row.message_id
    msg["Auto-Submitted"] = "auto-generated"
    if row.importance == "high":
        # Outlook reads Importance; other clients read X-Priority.
        msg["Importance"] = "high"
        msg["X-Priority"] = "1"
    return msg


def _text(body: str, subtype: str) -> MIMEText:
    """Return a UTF-8 text part: 8bit as EmailMessage sends it, or base64 when a line is too long for SMTP."""
    fits = max((len(line.encode()) for line in body.splitlines()), default=0) <= MAX_LINE
    return MIMEText(body, subtype, _charset=UTF8_8BIT if fits else "utf-8", policy=MAIL_POLICY)


def _header(value: str) -> str | Header:
    """Return a header value on one line, RFC 2047-encoded when it is not plain ASCII."""
    # A line break in a value would start a header of its own: never let stored text do that.
    value = one_line(value)
    return value if value.isascii() else Header(value, "utf-8", maxlinelen=MAX_LINE)


def backoff(attempts: int) -> timedelta:
    """Return the wait before the next try: 1, 2, 4 … minutes, at most an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


@dataclass
class _Claimed:
    """What one claim took: the messages this sender may send now, and how many the mailbox's limits held back."""

    ids: list[int]
    held_back: int = 0


def _claim(factory: sessionmaker[Session], settings: Settings, limit: int, at: datetime, lease: timedelta,
           holder: str | None) -> _Claimed:
    """Mark a batch of due messages, most urgent first, as sending by `holder`, so a parallel sender skips them
    until the lease lapses; with the mailbox limited, only as many as its limits allow now, the rest put off."""
    with factory.begin() as session:
        # Locked first, so parallel senders take their places in the mailbox's windows one after another.
        quota = read_quota(session, settings, at) if settings.mail_rate.limited else None
        due = or_(
            (OutboxMessage.status == MessageStatus.PENDING) & (OutboxMessage.next_attempt_at <= at),
            # A sender that died mid-batch leaves its claim; it lapses after the lease, or at once when a run
            # takes its phase over (notifications.outbox.release_claims).
            (OutboxMessage.status == MessageStatus.SENDING) & (OutboxMessage.next_attempt_at <= at),
        )
        rows = session.execute(
            select(OutboxMessage.id, OutboxMessage.phase, OutboxMessage.template).where(due)
            .order_by(urgency_order(), OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)).all()
        claimed = _Claimed([row.id for row in rows])
        if quota is not None:
            claimed = _within_limits(session, settings, quota, rows, due)
        if claimed.ids:
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(claimed.ids))
                .values(status=MessageStatus.SENDING, next_attempt_at=at + lease, claimed_by=holder)
            )
        return claimed


def _within_limits(session: Session, settings: Settings, quota: Quota, rows, due) -> _Claimed:
    """Take the messages the mailbox's limits allow now, most urgent first; put every due message they do not
    allow off until its window frees a place (not a failed attempt); tell the QA managers once a day when
    the day's quota will not cover what is queued."""
    ids: list[int] = []
    for row in rows:
        urgent = urgency(row.phase, row.template) == Urgency.IMMEDIATE_RESPONSE
        if quota.room(urgent):
            ids.append(row.id)
            quota.take()
    record_sends(session, settings, quota.at, ids)
    claimed = _Claimed(ids)
    for urgent in (False, True):
        if quota.room(urgent):
            continue  # the batch ran out before the room did: the rest are claimed by the next batch
        kind = (urgency_order() == int(Urgency.IMMEDIATE_RESPONSE)) if urgent else \
            (urgency_order() != int(Urgency.IMMEDIATE_RESPONSE))
        claimed.held_back += session.execute(
            update(OutboxMessage).where(due, kind, OutboxMessage.id.not_in(ids))
            .values(status=MessageStatus.PENDING, next_attempt_at=quota.frees_at(urgent), claimed_by=None)
            .execution_options(synchronize_session=False)).rowcount
    if quota.left_today is not None:
        queued = session.scalar(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.status == MessageStatus.PENDING,
                                       OutboxMessage.id.not_in(ids))) or 0
        if queued > quota.left_today:
            _warn_quota_short(session, settings, quota, waiting=queued - quota.left_today)
    return claimed


def _warn_quota_short(session: Session, settings: Settings, quota: Quota, *, waiting: int) -> None:
    """Queue, once a day for the mailbox, the QA managers' warning that the day's quota will not cover what is queued."""
    ctx = context_at(quota.at, settings)
    day = ctx.timescales.today(ctx.now)
    # The day's share that is not kept for Immediate Responses, sent day after day until the queue is through.
    per_day = quota.reserved_from or quota.rate.per_day or 1
    first = quota.frees_at(False).astimezone(ctx.tz)
    last = first + DAY * (math.ceil(waiting / per_day) - 1)
    mailbox = sending_mailbox(settings)
    key = MessageKey("gateway", None, f"mail-quota-{day.isoformat()}",
                     f"quota-short-{hashlib.sha256(mailbox.encode()).hexdigest()[:10]}")
    for manager in session.scalars(select(Staff).where(Staff.active, Staff.role == Role.QA_MANAGER)
                                   .order_by(Staff.id)):
        message = render("mail_quota_short", recipient_name=manager.name, waiting=waiting, mailbox=mailbox,
                         per_day=quota.rate.per_day, first_label=f"{first:%A %-d %B %Y at %H:%M}",
                         last_label=f"{last:%A %-d %B %Y}", reserve_percent=round(
                             quota.rate.immediate_response_reserve * 100))
        enqueue(session, ctx, key, manager, message)


def _record(factory: sessionmaker[Session], message_id: int, **values) -> None:
    with factory.begin() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))


def deliver(*, engine: Engine, settings: Settings, batch_size: int = 200, transport: Transport | None = None,
            holder: str | None = None, stopping: Callable[[], bool] | None = None,
            clock: Callable[[], datetime] = wall_clock) -> DeliveryReport:
    """Send every due message once, marking each sent, retrying or failed as its reply says.

    `holder` names the run sending (see runs.leases.holder_name), recorded on each message it claims.
    `stopping`, asked before each message, ends the drain early: the message in hand is finished and the
    rest of the batch is put back in the queue, due now. `clock` tells the time every delivery decision
    (what is due, the mailbox's windows, retries) reads: the real time, or a simulation's.
    """
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    report = DeliveryReport()
    transport = transport or transport_for(settings)
    lease = timedelta(seconds=settings.send_claim_seconds)
    seen: set[int] = set()
    reported: set[int] = set()
    connected = False
    try:
        while True:
            halt = stopping is not None and stopping()
            claimed = _Claimed([]) if halt else _claim(factory, settings, batch_size, _utc(clock), lease, holder)
            report.held_back += claimed.held_back
            ids = [i for i in claimed.ids if i not in seen]
            if not ids and claimed.held_back:
                continue  # the mailbox's limits put some off: what they still allow may be due behind them
            if not ids:
                newly_failed = [i for i in report.failed_ids if i not in reported]
                reported.update(newly_failed)
                # The QA manager is told in the same drain, so a refused address never goes unnoticed.
                if newly_failed and _queue_failure_report(factory, settings, newly_failed, _utc(clock)) \
                        and not halt:
                    continue
                return report
            seen.update(ids)
            with factory() as session:
                rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))))
            place = {message_id: n for n, message_id in enumerate(ids)}
            rows.sort(key=lambda row: place[row.id])  # sent in the order claimed: most urgent first
            # One connection for the whole drain, opened again only if the server has dropped it.
            if not connected or not transport.usable:
                try:
                    transport.open()
                    connected = True
                except DeliveryError as exc:
                    for row in rows:
                        _fail_or_retry(factory, row, exc, report, _utc(clock))
                    continue
            left: list[int] = []
            with lazy_commits(engine) as marks:
                for n, row in enumerate(rows):
                    if stopping is not None and stopping():
                        left = [r.id for r in rows[n:]]
                        break
                    _send_one(marks, factory, transport, row, settings, report, clock)
            if left:
                _unclaim(factory, left, _utc(clock))
    finally:
        if connected:
            transport.close()


def _utc(clock: Callable[[], datetime]) -> datetime:
    """Read the delivery clock in UTC, as every stored time is."""
    return clock().astimezone(UTC)


def _unclaim(factory: sessionmaker[Session], ids: list[int], at: datetime) -> None:
    """Put claimed messages this drain will not send back in the queue, due now, for the next sender."""
    with factory.begin() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids),
                                                    OutboxMessage.status == MessageStatus.SENDING)
                        .values(status=MessageStatus.PENDING, next_attempt_at=at, claimed_by=None))
        # Their places in the mailbox's windows go back too: they were counted when claimed.
        give_back(session, ids)


def watch(*, engine: Engine, settings: Settings, interval: float, stopping: Callable[[], bool],
          holder: str | None = None) -> DeliveryReport:
    """Drain the outbox every `interval` seconds until `stopping()`; log one line for each drain that did anything."""
    total = DeliveryReport()
    while not stopping():
        try:
            report = deliver(engine=engine, settings=settings, holder=holder, stopping=stopping)
        except Exception as exc:  # a long-running sender outlives a locked or unreachable database
            # Our own refusals are plain words; a driver's message may quote a row, so only its kind is logged.
            log.error("outbox not drained (%s); trying again in %g seconds",
                      str(exc) if isinstance(exc, UserError) else type(exc).__name__, interval)
            report = DeliveryReport()
        if report.sent or report.retrying or report.held or report.failed or report.held_back:
            # Counts only: never a recipient, a subject or a link.
            log.info("outbox drained: %d sent, %d to retry, %d held, %d failed, %d waiting for the mailbox's limits",
                     report.sent, report.retrying, report.held, report.failed, report.held_back)
        for name in ("sent", "retrying", "held", "failed", "held_back"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        # Short naps, so a stop asked for between drains is answered at once.
        wake = time.monotonic() + interval
        while not stopping() and time.monotonic() < wake:
            time.sleep(min(0.2, max(wake - time.monotonic(), 0)))
    return total


# Bound names differ from the columns', which SQLAlchemy keeps for the SET clause of its own.
_MARK_SENT = (update(OutboxMessage).where(OutboxMessage.id == bindparam("b_id"))
              .values(status=MessageStatus.SENT, sent_at=bindparam("b_sent_at"), attempts=bindparam("b_attempts"),
                      last_code=bindparam("b_last_code"), last_error=None))


def _send_one(marks: Connection, factory, transport: Transport, row: OutboxMessage, settings: Settings,
              report: DeliveryReport, clock: Callable[[], datetime]) -> None:
    try:
        if not transport.usable:
            transport.open()  # the server dropped the connection on an earlier message of this batch
        transport.send(build_email(row, settings), sender=str(settings.mail_from), recipient=row.recipient_email,
                       name=outbox_name(row))
    except DeliveryError as exc:
        _fail_or_retry(factory, row, exc, report, _utc(clock))
        return
    checkpoint(AFTER_ACCEPT)
    # One statement built once: with thousands of messages a drain, building it each time showed.
    with marks.begin():
        marks.execute(_MARK_SENT, {"b_id": row.id, "b_sent_at": _utc(clock), "b_attempts": row.attempts + 1,
                                   "b_last_code": 250 if settings.smtp_host else None})
    report.sent += 1
    checkpoint(MID_BATCH)


def _fail_or_retry(factory, row: OutboxMessage, exc: DeliveryError, report: DeliveryReport, at: datetime) -> None:
    if exc.held:
        # Not the message's fault, so its attempts are kept for real delivery problems.
        _record(factory, row.id, status=MessageStatus.PENDING, last_code=exc.code, last_error=str(exc)[:2000],
                next_attempt_at=at + HOLD_RETRY)
        report.held += 1
        if report.held == 1:  # one line a drain: the fault is the same for every message held
            log.error("mail held until the mail set-up is fixed (first M%06d): %s", row.id, exc)
        return
    attempts = row.attempts + 1
    if exc.transient and attempts < MAX_ATTEMPTS:
        _record(factory, row.id, status=MessageStatus.PENDING, attempts=attempts, last_code=exc.code,
                last_error=str(exc)[:2000], next_attempt_at=at + backoff(attempts))
        report.retrying += 1
    else:
        _record(factory, row.id, status=MessageStatus.FAILED, attempts=attempts, last_code=exc.code,
                last_error=str(exc)[:2000])
        report.failed += 1
        report.failures.append(f"M{row.id:06d} to {row.recipient_id}: {exc}")
        report.failed_ids.append(row.id)
    log.warning("message M%06d not delivered (attempt %d): %s", row.id, attempts, exc)


def _queue_failure_report(factory: sessionmaker[Session], settings: Settings, failed_ids: list[int],
                          at: datetime) -> int:
    """Queue one report of permanently refused messages to each QA manager; return how many were queued."""

    with factory.begin() as session:
        rows = [r for r in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(failed_ids))
                                           .order_by(OutboxMessage.id))
                if r.phase != "gateway"]  # a refused failure report is not reported again
        if not rows:
            return 0
        names = {s.id: s.name for s in session.scalars(select(Staff))}
        items = [{"reference": f"M{r.id:06d}", "recipient": names.get(r.recipient_id or "", r.recipient_id or ""),
                  "email": r.recipient_email, "subject": r.subject,
                  "error": f"{r.last_code or ''} {(r.last_error or '')[:200]}".strip()} for r in rows]
        managers = list(session.scalars(select(Staff).where(Staff.active, Staff.role == Role.QA_MANAGER)))
        queued = 0
        for manager in managers:
            message = render("delivery_failure", recipient_name=manager.name, items=items)
            key = MessageKey("gateway", None, f"failed-{rows[0].id}-{rows[-1].id}", "failure-report")
            queued += enqueue(session, context_at(at, settings), key, manager, message) is not None
        return queued
