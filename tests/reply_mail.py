"""Invite replies as Outlook, Gmail and Apple Calendar send them, built from their documented shapes.

- Outlook (Exchange): multipart/alternative with text/calendar; method=REPLY (base64), PRODID "Microsoft
  Exchange Server 2010", the times in a VTIMEZONE with a Windows name ("GMT Standard Time"), SUMMARY
  "Accepted: ...", no ORGANIZER line, a COMMENT when the attendee wrote one; its "propose new time" is a
  METHOD:COUNTER whose DTSTART/DTEND are the proposal and X-MS-OLK-ORIGINALSTART/END the time it changes.
- Gmail: multipart/mixed holding multipart/alternative (text/plain, text/html, text/calendar; method=REPLY)
  and the same calendar again as an application/ics attachment named invite.ics; UTC times, ORGANIZER,
  ATTENDEE with CUTYPE, ROLE and X-NUM-GUESTS.
- Apple Calendar: multipart/mixed with a text/plain note and text/calendar; method=REPLY attachment
  (name iCal-*.ics), PRODID "-//Apple Inc.//Mac OS X ...//EN", TZID=Europe/London with its VTIMEZONE,
  ATTENDEE with an EMAIL parameter, and REQUEST-STATUS:2.0;Success.

Each carries the receiving server's Authentication-Results header, passing DMARC for the sender's domain
unless told otherwise.
"""
import base64
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

AUTHSERV = "mx.council.example"
LONDON = ZoneInfo("Europe/London")
GMT_STANDARD_TIME = """BEGIN:VTIMEZONE
TZID:GMT Standard Time
BEGIN:STANDARD
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0000
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T010000
TZOFFSETFROM:+0000
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE"""
EUROPE_LONDON = """BEGIN:VTIMEZONE
TZID:Europe/London
BEGIN:DAYLIGHT
TZOFFSETFROM:+0000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
DTSTART:19810329T010000
TZNAME:BST
TZOFFSETTO:+0100
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0100
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
DTSTART:19961027T020000
TZNAME:GMT
TZOFFSETTO:+0000
END:STANDARD
END:VTIMEZONE"""
SUBJECTS = {"ACCEPTED": "Accepted", "TENTATIVE": "Tentative", "DECLINED": "Declined"}


def authentication(domain: str, *, dmarc: str = "pass", authserv: str = AUTHSERV) -> str:
    """Return the receiving server's Authentication-Results header value for mail from a domain."""
    return (f"{authserv}; dkim={dmarc} header.d={domain} header.s=selector1 header.b=AbCdEf12; "
            f"spf=pass ({authserv}: domain of sender designates 192.0.2.7 as permitted sender) "
            f"smtp.mailfrom={domain}; dmarc={dmarc} (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from={domain}")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%Y%m%dT%H%M%S")


def _b64(text: str) -> str:
    return "\r\n".join(base64.encodebytes(text.encode()).decode().splitlines())


def _headers(sender: str, name: str, subject: str, *, auth: str | None, extra: str = "") -> str:
    domain = sender.rpartition("@")[2]
    lines = []
    if auth is not False:
        lines.append(f"Authentication-Results: {auth if auth is not None else authentication(domain)}")
    lines += [f"From: {name} <{sender}>", "To: Quality Assurance Team <qa-team@example.org>",
              f"Subject: {subject}", f"Date: {format_datetime(datetime(2026, 11, 26, 9, 30, tzinfo=UTC))}",
              f"Message-ID: {make_msgid(domain=domain)}", "MIME-Version: 1.0"]
    return "\r\n".join(lines) + ("\r\n" + extra if extra else "")


def _crlf(text: str) -> str:
    return "\r\n".join(text.strip("\n").splitlines()) + "\r\n"


OUTLOOK_BOUNDARY = "_000_DB9PR07MB1234outlook_"
OUTLOOK_TYPE = f'Content-Type: multipart/alternative; boundary="{OUTLOOK_BOUNDARY}"'


def _outlook_mail(head: str, comment: str | None, calendar: str, method: str) -> bytes:
    """Return Outlook's message: the attendee's words as text, then the calendar part in base64."""
    b = OUTLOOK_BOUNDARY
    return (f"{head}\r\n\r\n--{b}\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n\r\n{comment or ''}\r\n\r\n"
            f"--{b}\r\nContent-Type: text/calendar; charset=\"utf-8\"; method={method}\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{_b64(calendar)}\r\n\r\n--{b}--\r\n").encode()


def _outlook_calendar(*, method: str, partstat: str, summary: str, uid: str, sender: str, name: str, sequence: int,
                      stamp: datetime, start: datetime, end: datetime, comment: str | None, extra: str) -> str:
    """Return the VCALENDAR Outlook sends back: no ORGANIZER, its times in GMT Standard Time."""
    return _crlf(f"""BEGIN:VCALENDAR
METHOD:{method}
PRODID:Microsoft Exchange Server 2010
VERSION:2.0
{GMT_STANDARD_TIME}
BEGIN:VEVENT
ATTENDEE;PARTSTAT={partstat};CN={name}:mailto:{sender}
{f"COMMENT;LANGUAGE=en-GB:{comment}" if comment else ""}
SUMMARY;LANGUAGE=en-GB:{summary}
DTSTART;TZID=GMT Standard Time:{_local(start)}
DTEND;TZID=GMT Standard Time:{_local(end)}
UID:{uid}
CLASS:PUBLIC
PRIORITY:5
DTSTAMP:{_utc(stamp)}
TRANSP:OPAQUE
STATUS:CONFIRMED
SEQUENCE:{sequence}
X-MICROSOFT-CDO-APPT-SEQUENCE:{sequence}
{extra}
END:VEVENT
END:VCALENDAR""".replace("\n\n", "\n"))


def outlook_reply(*, uid: str, sender: str, name: str, partstat: str, sequence: int, stamp: datetime,
                  start: datetime, end: datetime, title: str, comment: str | None = None,
                  auth: str | None = None) -> bytes:
    """Return Outlook's REPLY: no ORGANIZER, the time in GMT Standard Time, a COMMENT if written."""
    calendar = _outlook_calendar(
        method="REPLY", partstat=partstat, summary=f"{SUBJECTS[partstat]}: {title}", uid=uid, sender=sender,
        name=name, sequence=sequence, stamp=stamp, start=start, end=end, comment=comment,
        extra="LOCATION;LANGUAGE=en-GB:Microsoft Teams Meeting\nX-MICROSOFT-CDO-OWNERAPPTID:2120962231\n"
              "X-MICROSOFT-CDO-BUSYSTATUS:BUSY\nX-MICROSOFT-CDO-INTENDEDSTATUS:BUSY\n"
              "X-MICROSOFT-CDO-ALLDAYEVENT:FALSE\nX-MICROSOFT-CDO-IMPORTANCE:1\nX-MICROSOFT-CDO-INSTTYPE:0\n"
              "X-MICROSOFT-DONOTFORWARDMEETING:FALSE\nX-MICROSOFT-DISALLOW-COUNTER:FALSE")
    return _outlook_mail(_headers(sender, name, f"{SUBJECTS[partstat]}: {title}", auth=auth,
                                  extra=f"Thread-Topic: {title}\r\nContent-Language: en-GB\r\n" + OUTLOOK_TYPE),
                         comment, calendar, "REPLY")


def outlook_counter(*, uid: str, sender: str, name: str, sequence: int, stamp: datetime, original: datetime,
                    original_end: datetime, start: datetime, end: datetime, title: str, comment: str | None = None,
                    auth: str | None = None) -> bytes:
    """Return Outlook's "propose new time": METHOD:COUNTER with X-MS-OLK-ORIGINALSTART."""
    calendar = _outlook_calendar(
        method="COUNTER", partstat="TENTATIVE", summary=f"New Time Proposed: {title}", uid=uid, sender=sender,
        name=name, sequence=sequence, stamp=stamp, start=start, end=end, comment=comment,
        extra=f"X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE\n"
              f"X-MS-OLK-ORIGINALEND;TZID=GMT Standard Time:{_local(original_end)}\n"
              f"X-MS-OLK-ORIGINALSTART;TZID=GMT Standard Time:{_local(original)}")
    return _outlook_mail(_headers(sender, name, f"New Time Proposed: {title}", auth=auth, extra=OUTLOOK_TYPE),
                         comment, calendar, "COUNTER")


def gmail_reply(*, uid: str, sender: str, name: str, partstat: str, sequence: int, stamp: datetime,
                start: datetime, end: datetime, title: str, organiser: str = "qa-team@example.org",
                auth: str | None = None) -> bytes:
    """Return Gmail's REPLY: the calendar inline and again as invite.ics, UTC times, with ORGANIZER."""
    calendar = _crlf(f"""BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
CALSCALE:GREGORIAN
METHOD:REPLY
BEGIN:VEVENT
DTSTART:{_utc(start)}
DTEND:{_utc(end)}
DTSTAMP:{_utc(stamp)}
ORGANIZER;CN=Quality Assurance Team:mailto:{organiser}
UID:{uid}
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};CN={name};X-NUM-GUESTS=0:mailto:{sender}
CREATED:20261125T090000Z
DESCRIPTION:
LAST-MODIFIED:{_utc(stamp)}
LOCATION:
SEQUENCE:{sequence}
STATUS:CONFIRMED
SUMMARY:{title}
TRANSP:OPAQUE
END:VEVENT
END:VCALENDAR""")
    outer, inner = "000000000000b1c2d3gmail", "000000000000a1b2c3gmail"
    verb = SUBJECTS[partstat]
    head = _headers(sender, name, f"Invitation: {title} @ {start:%a %d %b %Y}: {verb}", auth=auth,
                    extra=f'Content-Type: multipart/mixed; boundary="{outer}"')
    return (f"{head}\r\n\r\n--{outer}\r\nContent-Type: multipart/alternative; boundary=\"{inner}\"\r\n\r\n"
            f"--{inner}\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n{name} has {verb.lower()} this invitation.\r\n"
            f"--{inner}\r\nContent-Type: text/html; charset=\"UTF-8\"\r\n\r\n<p>{name} has {verb.lower()}.</p>\r\n"
            f"--{inner}\r\nContent-Type: text/calendar; charset=\"UTF-8\"; method=REPLY\r\n"
            f"Content-Transfer-Encoding: 7bit\r\n\r\n{calendar}\r\n--{inner}--\r\n"
            f"--{outer}\r\nContent-Type: application/ics; name=\"invite.ics\"\r\n"
            f"Content-Disposition: attachment; filename=\"invite.ics\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            f"{_b64(calendar)}\r\n--{outer}--\r\n").encode()


def apple_reply(*, uid: str, sender: str, name: str, partstat: str, sequence: int, stamp: datetime,
                start: datetime, end: datetime, title: str, organiser: str = "qa-team@example.org",
                auth: str | None = None) -> bytes:
    """Return Apple Calendar's REPLY: an iCal-*.ics attachment, Europe/London times, REQUEST-STATUS."""
    calendar = _crlf(f"""BEGIN:VCALENDAR
METHOD:REPLY
VERSION:2.0
PRODID:-//Apple Inc.//Mac OS X 14.6//EN
{EUROPE_LONDON}
BEGIN:VEVENT
ATTENDEE;CN="{name}";CUTYPE=INDIVIDUAL;EMAIL="{sender}";PARTSTAT={partstat}:mailto:{sender}
DTEND;TZID=Europe/London:{_local(end)}
DTSTAMP:{_utc(stamp)}
DTSTART;TZID=Europe/London:{_local(start)}
ORGANIZER;CN="Quality Assurance Team";EMAIL="{organiser}":mailto:{organiser}
REQUEST-STATUS:2.0;Success
SEQUENCE:{sequence}
SUMMARY:{title}
UID:{uid}
END:VEVENT
END:VCALENDAR""")
    boundary = "Apple-Mail=_4B1D2F3E-1234-5678-9ABC-DEF012345678"
    verb = SUBJECTS[partstat]
    head = _headers(sender, name, f"Invitation: {title} ({verb})", auth=auth,
                    extra=f'Content-Type: multipart/mixed; boundary="{boundary}"')
    return (f"{head}\r\n\r\n--{boundary}\r\nContent-Transfer-Encoding: 7bit\r\nContent-Type: text/plain;\r\n"
            f"\tcharset=us-ascii\r\n\r\n{name} has {verb.lower()} your event.\r\n\r\n--{boundary}\r\n"
            f"Content-Disposition: attachment;\r\n\tfilename=iCal-20261126-093000.ics\r\n"
            f"Content-Type: text/calendar;\r\n\tmethod=REPLY;\r\n\tname=\"iCal-20261126-093000.ics\"\r\n"
            f"Content-Transfer-Encoding: 7bit\r\n\r\n{calendar}\r\n--{boundary}--\r\n").encode()


def plain_mail(*, sender: str, subject: str, body: str) -> bytes:
    """Return ordinary mail to the QA mailbox, with no calendar part."""
    return (_headers(sender, "Someone", subject, auth=None, extra="Content-Type: text/plain; charset=utf-8")
            + f"\r\n\r\n{body}\r\n").encode()


def raw_calendar_mail(*, sender: str, calendar: str, method: str = "REPLY") -> bytes:
    """Return mail whose calendar part is given as is: huge, or malformed."""
    head = _headers(sender, "Someone", "Accepted: meeting", auth=None,
                    extra=f'Content-Type: text/calendar; charset="utf-8"; method={method}')
    return (head + "\r\n\r\n" + calendar).encode()
