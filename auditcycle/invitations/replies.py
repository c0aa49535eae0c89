"""Invite replies read back: each message of the QA mailbox once, and what its REPLY or COUNTER does to a meeting.

A reply is matched by the meeting's UID, then the attendee's address, then SEQUENCE and DTSTAMP, so a stale
one (to a time the meeting has left, or older than the answer kept) changes nothing. It is trusted only when
its ATTENDEE is invited to that meeting and the receiving server's Authentication-Results header shows DMARC
passed for the attendee's domain (`invitations.authentication`); otherwise it is held for the QA manager.

- accepted, tentative, declined: kept on the meeting (`booking.answers`), with the COMMENT as received;
- declined by a required attendee: the meeting moves to the next slot that suits everyone (`booking.meetings.move`
  sends everyone, the auditor too, the update naming who declined), until it has moved `rebook_declines` times
  for declines; then, or when no slot is free, it is handed to the QA manager;
- declined by an optional attendee (the buddy): recorded and the organiser told; it never moves;
- COUNTER (Outlook's "propose new time"): taken when the proposed time keeps every booking rule and suits
  everyone, else refused with a DECLINECOUNTER giving the reason.

`handle_message` stores the message's row (mailbox, UIDVALIDITY, UID and Message-ID) in the caller's
transaction, with every change and message its reply causes: a re-run finds it and does nothing.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.booking.answers import CALENDAR_REPLY, DECLINED, answer_of, record_answer, tell_organiser_optional
from auditcycle.booking.meetings import meeting_title, move, optional_ids, time_label
from auditcycle.booking.window import earliest_start
from auditcycle.core.clock import wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.invitations.authentication import dmarc_problem
from auditcycle.invitations.imip import COUNTER, CalendarReply, NotAReply, Unreadable, from_address, read_reply
from auditcycle.models import Meeting, ReplyMessage, Staff
from auditcycle.models.enums import MeetingStatus
from auditcycle.models.reply import ReplyOutcome
from auditcycle.notifications.invites import compose_counter_declined, decline_counter_text
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.notices import moment_label
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.notifications.replies import compose_reply_for_qa
from auditcycle.people.directory import Directory
from auditcycle.privacy.redaction import Redactor
from auditcycle.storage.events import log_event

PHASE = "replies"
EVENT = "meeting-reply"
# What a QA manager is told of, once each: a reply not trusted, one that cannot be read, a meeting to book by hand.
TOLD = (ReplyOutcome.HELD, ReplyOutcome.UNREADABLE, ReplyOutcome.HANDED_OVER)


@dataclass(frozen=True)
class Received:
    """One message as the mailbox gave it: where it is, its size and, unless too large to fetch, its bytes."""

    mailbox: str
    uid_validity: int
    uid: int
    size: int
    raw: bytes | None


@dataclass
class _Reading:
    """What is known of a message while it is read, for its row."""

    received: Received
    message: Message | None = None
    message_id: str | None = None
    reply: CalendarReply | None = None
    meeting: Meeting | None = None
    person: Staff | None = None


def handled_uids(session: Session, *, mailbox: str, uid_validity: int) -> set[int]:
    """Return the UIDs of a mailbox, under one UIDVALIDITY, whose messages were read already."""
    return set(session.scalars(select(ReplyMessage.uid).where(ReplyMessage.mailbox == mailbox,
                                                              ReplyMessage.uid_validity == uid_validity)))


def handle_message(session: Session, ctx: AppContext, received: Received) -> ReplyMessage | None:
    """Read one mailbox message and do what its reply asks, in the caller's transaction; None if read before."""
    if session.scalar(select(ReplyMessage.id).where(
            ReplyMessage.mailbox == received.mailbox, ReplyMessage.uid_validity == received.uid_validity,
            ReplyMessage.uid == received.uid)) is not None:
        return None
    reading = _Reading(received)
    outcome, detail = _read(session, ctx, reading)
    reply = reading.reply
    row = ReplyMessage(mailbox=received.mailbox, uid_validity=received.uid_validity, uid=received.uid,
                       message_id=reading.message_id, outcome=outcome, method=reply.method if reply else None,
                       meeting_id=reading.meeting.id if reading.meeting else None,
                       staff_id=reading.person.id if reading.person else None,
                       sequence=reply.sequence if reply else None, dtstamp=reply.dtstamp if reply else None,
                       detail=detail, handled_at=wall_clock())
    session.add(row)
    session.flush()
    if outcome != ReplyOutcome.DUPLICATE and reading.meeting is not None:
        log_event(session, ctx, subject_ref=reading.meeting.reference, kind=EVENT,
                  actor_id=reading.person.id if reading.person else None,
                  detail=Redactor.about(session, reading.meeting.audit.child)(f"{outcome.value}: {detail}"))
    if outcome in TOLD:
        _tell_qa(session, ctx, row, reading)
    return row


def _read(session: Session, ctx: AppContext, reading: _Reading) -> tuple[ReplyOutcome, str]:
    """Decide what a message is and do what it asks; return the outcome and why, in plain words."""
    limits = ctx.settings.replies
    received = reading.received
    if received.raw is None or received.size > limits.max_message_bytes:
        return ReplyOutcome.UNREADABLE, (f"the message has {received.size:,} bytes, over the limit of "
                                         f"{limits.max_message_bytes:,}")
    reading.message = message = message_from_bytes(received.raw, policy=policy.compat32)
    reading.message_id = (str(message.get("Message-ID", "")).strip()[:998] or None)
    if reading.message_id and session.scalar(select(ReplyMessage.id).where(
            ReplyMessage.message_id == reading.message_id).limit(1)) is not None:
        return ReplyOutcome.DUPLICATE, "a message with this Message-ID was read before"
    try:
        reading.reply = reply = read_reply(message, max_calendar_bytes=limits.max_calendar_bytes)
    except NotAReply as exc:
        return ReplyOutcome.NOT_A_REPLY, str(exc)
    except Unreadable as exc:
        return ReplyOutcome.UNREADABLE, str(exc)
    reading.meeting = meeting = session.scalar(select(Meeting).where(Meeting.uid == reply.uid))
    if meeting is None:
        return ReplyOutcome.UNKNOWN_MEETING, "no meeting has this UID"
    invited = _invited(meeting)
    reading.person = person = invited.get(reply.attendee)
    if person is None:
        return ReplyOutcome.HELD, f"{reply.attendee} is not invited to {meeting.reference}"
    domain = reply.attendee.rpartition("@")[2]
    if problem := dmarc_problem(_authentication_results(message), authserv_id=str(limits.authserv_id),
                                domain=domain):
        return ReplyOutcome.HELD, problem
    if stale := _staleness(session, ctx, meeting, person, reply):
        return ReplyOutcome.STALE, stale
    if reply.method == COUNTER:
        return _counter(session, ctx, meeting, person, reply)
    return _answer(session, ctx, meeting, person, reply)


def _invited(meeting: Meeting) -> dict[str, Staff]:
    """Map every address an invite of a meeting went to (required and optional) to its person."""
    people = [s for s in (meeting.organiser, meeting.attendee) if s is not None]
    people += [meeting.audit.buddy] if meeting.audit.buddy and meeting.audit.buddy.id in optional_ids(meeting) else []
    return {p.email.lower(): p for p in people if p.email}


def _authentication_results(message: Message) -> list[str]:
    return [str(h) for h in message.get_all("Authentication-Results") or []]


def _staleness(session: Session, ctx: AppContext, meeting: Meeting, person: Staff,
               reply: CalendarReply) -> str | None:
    """Say why a trusted reply answers nothing current: a cancelled or started meeting, an older time or answer."""
    if meeting.status != MeetingStatus.BOOKED:
        return f"{meeting.reference} is {meeting.status.value}"
    if meeting.starts_at <= ctx.now:
        return f"{meeting.reference} has already started"
    if reply.sequence < meeting.sequence:
        return f"it answers version {reply.sequence} of the time; the meeting has moved since (version {meeting.sequence})"
    if reply.sequence > meeting.sequence:
        return f"it names version {reply.sequence} of the time, which was never sent (the newest is {meeting.sequence})"
    if reply.original_start is not None and reply.original_start != meeting.starts_at:
        return "it proposes to change a time the meeting no longer has"
    given = answer_of(session, meeting, person)
    if reply.method != COUNTER and given is not None and given.sequence == reply.sequence \
            and given.answered_at >= reply.dtstamp:
        return "an answer stamped later was kept already"
    return None


def _answer(session: Session, ctx: AppContext, meeting: Meeting, person: Staff,
            reply: CalendarReply) -> tuple[ReplyOutcome, str]:
    """Keep an accepted, tentative or declined answer; a required attendee's decline moves the meeting."""
    if reply.answer is None:
        return ReplyOutcome.NOT_A_REPLY, f"a REPLY whose PARTSTAT ({reply.partstat or 'none'}) is no answer"
    before = answer_of(session, meeting, person)
    had = (before.answer, before.sequence) if before else None
    record_answer(session, ctx, meeting, person=person, answer=reply.answer, sequence=reply.sequence,
                  answered_at=reply.dtstamp, reason=reply.comment, source=CALENDAR_REPLY)
    said = f"{person.name} {reply.answer}"
    if reply.answer != DECLINED:
        return ReplyOutcome.RECORDED, said
    if person.id in optional_ids(meeting):
        if had != (DECLINED, reply.sequence):
            tell_organiser_optional(session, ctx, meeting, person=person, reason=reply.comment)
        return ReplyOutcome.RECORDED, f"{said}; an optional attendee, so the meeting stays"
    return _rebook(session, ctx, meeting, person, reply)


def _rebook(session: Session, ctx: AppContext, meeting: Meeting, person: Staff,
            reply: CalendarReply) -> tuple[ReplyOutcome, str]:
    """Move a meeting a required attendee declined, or hand it to the QA manager after enough declines."""
    allowed = ctx.settings.replies.rebook_declines
    moved = session.scalar(select(func.count()).select_from(ReplyMessage).where(
        ReplyMessage.meeting_id == meeting.id, ReplyMessage.outcome == ReplyOutcome.REBOOKED))
    if moved >= allowed:
        return ReplyOutcome.HANDED_OVER, (f"{person.name} declined; it has moved {moved} times for declines "
                                          f"(the limit is {allowed}), so it is for the QA team to book")
    was = time_label(ctx, meeting.starts_at, meeting.ends_at)
    said = f"{person.name} declined {was}" + (f": {reply.comment}" if reply.comment else "")
    if not move(session, ctx, meeting, reason=Redactor.about(session, meeting.audit.child)(said)):
        return ReplyOutcome.HANDED_OVER, (f"{person.name} declined {was} and no other time suits everyone on or "
                                          f"before the due date ({meeting.audit.due_date})")
    return ReplyOutcome.REBOOKED, f"{person.name} declined {was}; moved to {_when(ctx, meeting)}"


def _when(ctx: AppContext, meeting: Meeting) -> str:
    return time_label(ctx, meeting.starts_at, meeting.ends_at)


def counter_problem(session: Session, ctx: AppContext, meeting: Meeting, start: datetime) -> str | None:
    """Say which booking rule a proposed start breaks (notice, working day and hours, due date), or None."""
    ts = ctx.timescales
    minutes = int((meeting.ends_at - meeting.starts_at).total_seconds() // 60)
    day = ts.today(start)
    if why := ts.why_not_working(day):
        return f"{day:%A} {day.day} {day:%B %Y} is {why}, not a working day"
    opens, closes = ts.working_hours(day)
    if start < opens or start + timedelta(minutes=minutes) > closes:
        return (f"the {minutes}-minute meeting would fall outside working hours "
                f"({opens.astimezone(ctx.tz):%H:%M}–{closes.astimezone(ctx.tz):%H:%M})")
    if day > meeting.audit.due_date:
        return f"it is after the audit's due date ({meeting.audit.due_date:%d %B %Y})"
    if start < (notice := earliest_start(ctx, meeting.audit.cycle, meeting.kind)):
        return f"it is sooner than the meeting's notice allows (the earliest is {moment_label(notice, ctx.tz)})"
    return None


def _counter(session: Session, ctx: AppContext, meeting: Meeting, person: Staff,
             reply: CalendarReply) -> tuple[ReplyOutcome, str]:
    """Take a proposed new time that keeps the rules and suits everyone; otherwise send a DECLINECOUNTER."""
    assert reply.start is not None and reply.end is not None
    proposed = moment_label(reply.start, ctx.tz)
    if person.id in optional_ids(meeting):
        problem: str | None = "the time is set around the required attendees; an optional attendee cannot move it"
    else:
        problem = counter_problem(session, ctx, meeting, reply.start)
    if problem is None:
        said = f"{person.name} proposed {proposed}" + (f": {reply.comment}" if reply.comment else "")
        try:
            move(session, ctx, meeting, to=reply.start, reason=Redactor.about(session, meeting.audit.child)(said))
            return ReplyOutcome.COUNTER_ACCEPTED, f"{person.name} proposed {proposed}; moved there"
        except UserError:
            problem = ("someone invited is busy then, or already has the most audit meetings a day allows "
                       f"({ctx.settings.framework.audit_meetings_per_person_per_day})")
    _decline_counter(session, ctx, meeting, person, reply, problem)
    return ReplyOutcome.COUNTER_DECLINED, f"{person.name} proposed {proposed}; refused: {problem}"


def _decline_counter(session: Session, ctx: AppContext, meeting: Meeting, person: Staff, reply: CalendarReply,
                     reason: str) -> None:
    """Queue the DECLINECOUNTER to the attendee who proposed the time, once."""
    assert reply.start is not None and reply.end is not None
    audit = meeting.audit
    to = Recipient.of(person)
    calendar = decline_counter_text(uid=meeting.uid, sequence=meeting.sequence, stamp=ctx.now,
                                    organiser_name=ctx.settings.mail_from_name,
                                    organiser_email=str(ctx.settings.mail_from), attendee=to,
                                    proposed_start=reply.start, proposed_end=reply.end, comment=reason)
    message = compose_counter_declined(recipient_name=person.name, title=meeting_title(meeting),
                                       audit_ref=audit.reference, child_id=audit.child_id,
                                       when_label=_when(ctx, meeting), proposed_label=moment_label(reply.start, ctx.tz),
                                       reason=reason, calendar=calendar)
    step = f"counter-{reply.dtstamp:%Y%m%dT%H%M%S}"
    enqueue(session, ctx, MessageKey(PHASE, audit.cycle.month, meeting.reference, step), to, message)


def _tell_qa(session: Session, ctx: AppContext, row: ReplyMessage, reading: _Reading) -> None:
    """Tell each QA manager, once, of a reply held or unreadable, or of a meeting theirs to book by hand."""
    meeting = reading.meeting
    redact = Redactor.about(session, meeting.audit.child if meeting else None)
    sender = (reading.reply.attendee if reading.reply else None) or \
        (from_address(reading.message) if reading.message else None) or "an unknown sender"
    month = meeting.audit.cycle.month if meeting else None
    for manager in Directory(session).qa_managers:
        message = compose_reply_for_qa(
            recipient_name=manager.name, outcome=row.outcome.value, sender=redact(sender),
            received_label=moment_label(ctx.now, ctx.tz), reason=redact(row.detail),
            title=meeting_title(meeting) if meeting else None, audit_ref=meeting.audit.reference if meeting else None,
            child_id=meeting.audit.child_id if meeting else None, when_label=_when(ctx, meeting) if meeting else None)
        enqueue(session, ctx, MessageKey(PHASE, month, f"reply-{row.id}", row.outcome.value), manager, message)
