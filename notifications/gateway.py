"""The one gateway: drain the outbox after commit, over SMTP or into the outbox folder."""
import logging
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import encoders, policy
from email.charset import Charset
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from auditcycle.core.clock import wall_clock
from auditcycle.core.context import build_context
from auditcycle.core.errors import UserError
from auditcycle.core.faults import AFTER_ACCEPT, MID_BATCH, checkpoint
from auditcycle.core.settings import Settings
from auditcycle.models import OutboxMessage, Staff
from auditcycle.models.enums import MessageStatus, Role
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.notifications.render import one_line, render
from auditcycle.notifications.transport import DeliveryError, Transport, outbox_name, transport_for
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


def _claim(factory: sessionmaker[Session], limit: int, at: datetime, lease: timedelta,
           holder: str | None) -> list[int]:
    """Mark a batch of due messages as sending by `holder`, so a parallel sender skips them until the lease lapses."""
    with factory.begin() as session:
        due = or_(
            (OutboxMessage.status == MessageStatus.PENDING) & (OutboxMessage.next_attempt_at <= at),
            # A sender that died mid-batch leaves its claim; it lapses after the lease, or at once when a run
            # takes its phase over (notifications.outbox.release_claims).
            (OutboxMessage.status == MessageStatus.SENDING) & (OutboxMessage.next_attempt_at <= at),
        )
        ids = list(
            session.scalars(
                select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                .values(status=MessageStatus.SENDING, next_attempt_at=at + lease, claimed_by=holder)
            )
        return ids


def _record(factory: sessionmaker[Session], message_id: int, **values) -> None:
    with factory.begin() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))


def deliver(*, engine: Engine, settings: Settings, batch_size: int = 200, transport: Transport | None = None,
            holder: str | None = None, stopping: Callable[[], bool] | None = None) -> DeliveryReport:
    """Send every due message once, marking each sent, retrying or failed as its reply says.

    `holder` names the run sending (see runs.leases.holder_name), recorded on each message it claims.
    `stopping`, asked before each message, ends the drain early: the message in hand is finished and the
    rest of the batch is put back in the queue, due now.
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
            ids = [] if halt else [i for i in _claim(factory, batch_size, wall_clock(), lease, holder)
                                   if i not in seen]
            if not ids:
                newly_failed = [i for i in report.failed_ids if i not in reported]
                reported.update(newly_failed)
                # The QA manager is told in the same drain, so a refused address never goes unnoticed.
                if newly_failed and _queue_failure_report(factory, settings, newly_failed) and not halt:
                    continue
                return report
            seen.update(ids)
            with factory() as session:
                rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))
                                            .order_by(OutboxMessage.id)))
            # One connection for the whole drain, opened again only if the server has dropped it.
            if not connected or not transport.usable:
                try:
                    transport.open()
                    connected = True
                except DeliveryError as exc:
                    for row in rows:
                        _fail_or_retry(factory, row, exc, report)
                    continue
            left: list[int] = []
            with lazy_commits(engine) as marks:
                for n, row in enumerate(rows):
                    if stopping is not None and stopping():
                        left = [r.id for r in rows[n:]]
                        break
                    _send_one(marks, factory, transport, row, settings, report)
            if left:
                _unclaim(factory, left)
    finally:
        if connected:
            transport.close()


def _unclaim(factory: sessionmaker[Session], ids: list[int]) -> None:
    """Put claimed messages this drain will not send back in the queue, due now, for the next sender."""
    with factory.begin() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids),
                                                    OutboxMessage.status == MessageStatus.SENDING)
                        .values(status=MessageStatus.PENDING, next_attempt_at=wall_clock(), claimed_by=None))


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
        if report.sent or report.retrying or report.held or report.failed:
            # Counts only: never a recipient, a subject or a link.
            log.info("outbox drained: %d sent, %d to retry, %d held, %d failed",
                     report.sent, report.retrying, report.held, report.failed)
        for name in ("sent", "retrying", "held", "failed"):
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
              report: DeliveryReport) -> None:
    try:
        if not transport.usable:
            transport.open()  # the server dropped the connection on an earlier message of this batch
        transport.send(build_email(row, settings), sender=str(settings.mail_from), recipient=row.recipient_email,
                       name=outbox_name(row))
    except DeliveryError as exc:
        _fail_or_retry(factory, row, exc, report)
        return
    checkpoint(AFTER_ACCEPT)
    # One statement built once: with thousands of messages a drain, building it each time showed.
    with marks.begin():
        marks.execute(_MARK_SENT, {"b_id": row.id, "b_sent_at": wall_clock(), "b_attempts": row.attempts + 1,
                                   "b_last_code": 250 if settings.smtp_host else None})
    report.sent += 1
    checkpoint(MID_BATCH)


def _fail_or_retry(factory, row: OutboxMessage, exc: DeliveryError, report: DeliveryReport) -> None:
    if exc.held:
        # Not the message's fault, so its attempts are kept for real delivery problems.
        _record(factory, row.id, status=MessageStatus.PENDING, last_code=exc.code, last_error=str(exc)[:2000],
                next_attempt_at=wall_clock() + HOLD_RETRY)
        report.held += 1
        if report.held == 1:  # one line a drain: the fault is the same for every message held
            log.error("mail held until the mail set-up is fixed (first M%06d): %s", row.id, exc)
        return
    attempts = row.attempts + 1
    if exc.transient and attempts < MAX_ATTEMPTS:
        _record(factory, row.id, status=MessageStatus.PENDING, attempts=attempts, last_code=exc.code,
                last_error=str(exc)[:2000], next_attempt_at=wall_clock() + backoff(attempts))
        report.retrying += 1
    else:
        _record(factory, row.id, status=MessageStatus.FAILED, attempts=attempts, last_code=exc.code,
                last_error=str(exc)[:2000])
        report.failed += 1
        report.failures.append(f"M{row.id:06d} to {row.recipient_id}: {exc}")
        report.failed_ids.append(row.id)
    log.warning("message M%06d not delivered (attempt %d): %s", row.id, attempts, exc)


def _queue_failure_report(factory: sessionmaker[Session], settings: Settings, failed_ids: list[int]) -> int:
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
            queued += enqueue(session, build_context(None, settings), key, manager, message) is not None
        return queued
