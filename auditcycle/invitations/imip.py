"""Read an invite reply out of an email: the iMIP (RFC 6047) REPLY or COUNTER that calendar clients send back.

Outlook, Gmail and Apple Calendar each send the reply to the invite's ORGANIZER (the QA mailbox) with a
text/calendar part, and Gmail an application/ics copy beside it. Outlook's REPLY has no ORGANIZER line and
may carry a COMMENT; its COUNTER ("propose new time") gives the proposed DTSTART and DTEND in a VTIMEZONE
with a Windows name, and the time it counters as X-MS-OLK-ORIGINALSTART. Nothing here trusts the sender:
that is `invitations.replies`' decision, made on the attendee and the Authentication-Results header.
"""
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import Message
from email.utils import getaddresses

from icalendar import Calendar
from icalendar.prop import vDDDTypes

REPLY, COUNTER = "REPLY", "COUNTER"
ANSWERS = {"ACCEPTED": "accepted", "TENTATIVE": "tentative", "DECLINED": "declined"}
COMMENT_MAX = 2000
CALENDAR_TYPES = ("text/calendar", "application/ics")


class NotAReply(ValueError):
    """The message holds no calendar reply: ordinary mail, or a calendar message of another method."""


class Unreadable(ValueError):
    """The message's calendar part is too large or malformed to read."""


@dataclass(frozen=True)
class CalendarReply:
    """What one attendee's REPLY or COUNTER says, as received."""

    method: str
    uid: str
    sequence: int
    dtstamp: datetime
    attendee: str  # the ATTENDEE's address, lower case
    partstat: str | None  # ACCEPTED, TENTATIVE, DECLINED, ...
    comment: str | None
    start: datetime | None = None  # a COUNTER's proposed time
    end: datetime | None = None
    original_start: datetime | None = None  # X-MS-OLK-ORIGINALSTART: the time a COUNTER proposes to change

    @property
    def answer(self) -> str | None:
        """Return the answer a REPLY gives (accepted, tentative, declined), or None for another PARTSTAT."""
        return ANSWERS.get(self.partstat or "")


def calendar_part(message: Message, *, max_bytes: int) -> bytes:
    """Return the message's calendar part: the text/calendar one first, else an .ics attachment."""
    parts = [p for p in message.walk() if not p.is_multipart() and (
        p.get_content_type() in CALENDAR_TYPES or (p.get_filename() or "").lower().endswith(".ics"))]
    if not parts:
        raise NotAReply("no calendar part: not an invite reply")
    part = sorted(parts, key=lambda p: p.get_content_type() != "text/calendar")[0]
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes) or not payload.strip():
        raise Unreadable("the calendar part is empty")
    if len(payload) > max_bytes:
        raise Unreadable(f"the calendar part has {len(payload):,} bytes, over the limit of {max_bytes:,}")
    return payload


def read_reply(message: Message, *, max_calendar_bytes: int) -> CalendarReply:
    """Read the REPLY or COUNTER in a message, or say why there is none (NotAReply) or it cannot be read."""
    payload = calendar_part(message, max_bytes=max_calendar_bytes)
    charset = message.get_content_charset() or "utf-8"
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = payload.decode(charset if charset.lower() != "utf-8" else "latin-1", errors="replace")
    try:
        calendar = Calendar.from_ical(text)
    except Exception as exc:  # hostile input: icalendar raises many kinds on malformed text
        raise Unreadable(f"the calendar part is not valid iCalendar ({type(exc).__name__})") from None
    if not isinstance(calendar, Calendar):
        raise Unreadable("the calendar part holds no VCALENDAR")
    method = str(calendar.get("METHOD", "")).strip().upper()
    if method not in (REPLY, COUNTER):
        raise NotAReply(f"a calendar {method or 'message without METHOD'}, not a REPLY or COUNTER")
    try:
        return _read_event(calendar, method, from_address(message))
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise Unreadable(f"the {method} cannot be read: {exc}") from None


def _read_event(calendar: Calendar, method: str, sender: str | None) -> CalendarReply:
    events = [e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" not in e] or calendar.walk("VEVENT")
    if len(events) != 1:
        raise ValueError(f"it holds {len(events)} events, not one")
    event = events[0]
    uid = str(event.get("UID", "")).strip()
    if not uid or len(uid) > 255:
        raise ValueError("no UID")
    if "DTSTAMP" not in event:
        raise ValueError("no DTSTAMP")
    attendees = event.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees] if attendees is not None else []
    if len(attendees) > 1:
        # One attendee answers; a client that lists everyone marks the one replying by its From address.
        attendees = [a for a in attendees if _address(a) == sender]
    if len(attendees) != 1:
        raise ValueError("not exactly one ATTENDEE answering")
    [attendee] = attendees
    partstat = str(attendee.params.get("PARTSTAT", "")).upper() or None
    comments = event.get("COMMENT")
    comments = comments if isinstance(comments, list) else [comments] if comments is not None else []
    comment = "\n".join(str(c) for c in comments).strip()[:COMMENT_MAX] or None
    start = end = original = None
    if method == COUNTER:
        start, end = _moment(event.decoded("DTSTART")), _moment(event.decoded("DTEND"))
        if end <= start:
            raise ValueError("the proposed time ends before it starts")
        if (raw := event.get("X-MS-OLK-ORIGINALSTART")) is not None:
            original = _moment(vDDDTypes.from_ical(str(raw), timezone=raw.params.get("TZID")))
    return CalendarReply(method=method, uid=uid, sequence=int(event.get("SEQUENCE", 0)),
                         dtstamp=_moment(event.decoded("DTSTAMP")), attendee=_address(attendee), partstat=partstat,
                         comment=comment, start=start, end=end, original_start=original)


def _address(value: object) -> str:
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if "@" not in text or len(text) > 320:
        raise ValueError("an ATTENDEE that is not an email address")
    return text.lower()


def from_address(message: Message) -> str | None:
    """Return the message's one From address, lower case, or None."""
    found = [address for _, address in getaddresses([str(message.get("From", ""))]) if "@" in address]
    return found[0].lower() if len(found) == 1 else None


def _moment(value: object) -> datetime:
    """Return an aware UTC moment; a floating time is read as UTC, as a date is not a meeting time."""
    if not isinstance(value, datetime):
        raise ValueError(f"a date ({value}) where a date-time is needed" if isinstance(value, date)
                         else "a time that is not a date-time")
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
