"""Invite replies as Outlook, Gmail and Apple Calendar send them are read the same way; hostile ones are refused."""
from datetime import UTC, datetime
from email import message_from_bytes

import pytest
import vobject
from reply_mail import apple_reply, gmail_reply, outlook_counter, outlook_reply, plain_mail, raw_calendar_mail

from auditcycle.invitations.authentication import dmarc_problem, parse
from auditcycle.invitations.imip import NotAReply, Unreadable, calendar_part, read_reply

UID = "1f0c2d3e-aaaa-bbbb-cccc-1234567890ab@example.org"
KW = "kay.worker@council.example"
START, END = datetime(2026, 12, 10, 10, 0, tzinfo=UTC), datetime(2026, 12, 10, 11, 0, tzinfo=UTC)
STAMP = datetime(2026, 11, 26, 9, 15, tzinfo=UTC)
COMMON = {"uid": UID, "sender": KW, "name": "Kay Worker", "sequence": 0, "stamp": STAMP, "start": START,
          "end": END, "title": "Audit learning conversation (A-2026-12-001)"}
LIMIT = 200_000


def _read(raw: bytes):
    return read_reply(message_from_bytes(raw), max_calendar_bytes=LIMIT)


def test_outlooks_reply_is_read_without_an_organizer_and_keeps_its_comment() -> None:
    raw = outlook_reply(partstat="DECLINED", comment="In court that morning, sorry", **COMMON)

    reply = _read(raw)

    assert b"ORGANIZER" not in calendar_part(message_from_bytes(raw), max_bytes=LIMIT)
    assert (reply.method, reply.uid, reply.sequence, reply.dtstamp, reply.attendee, reply.answer, reply.comment) == (
        "REPLY", UID, 0, STAMP, KW, "declined", "In court that morning, sorry")


@pytest.mark.parametrize(("build", "partstat", "answer"), [(gmail_reply, "ACCEPTED", "accepted"),
                                                           (apple_reply, "TENTATIVE", "tentative")])
def test_gmail_and_apple_replies_give_the_attendee_and_answer(build, partstat: str, answer: str) -> None:
    reply = _read(build(partstat=partstat, **COMMON))

    assert (reply.method, reply.uid, reply.attendee, reply.answer, reply.dtstamp, reply.comment) == (
        "REPLY", UID, KW, answer, STAMP, None)


def test_outlooks_counter_gives_the_proposed_and_original_times_in_utc_from_its_windows_zone() -> None:
    # 14 June is in British Summer Time: "GMT Standard Time" 15:00 there is 14:00 UTC.
    proposed = datetime(2026, 6, 11, 14, 0, tzinfo=UTC)
    raw = outlook_counter(uid=UID, sender=KW, name="Kay Worker", sequence=0, stamp=STAMP, original=START,
                          original_end=END, start=proposed, end=proposed.replace(hour=15), title="LC")

    reply = _read(raw)

    assert (reply.method, reply.start, reply.end, reply.original_start) == (
        "COUNTER", proposed, proposed.replace(hour=15), START)


@pytest.mark.parametrize("build", [outlook_reply, gmail_reply, apple_reply])
def test_vobject_reads_each_shape_too(build) -> None:
    part = calendar_part(message_from_bytes(build(partstat="ACCEPTED", **COMMON)), max_bytes=LIMIT)

    event = vobject.readOne(part.decode()).vevent

    assert (event.uid.value, event.attendee.value.lower()) == (UID, f"mailto:{KW}")


def test_ordinary_mail_and_a_request_are_not_replies() -> None:
    with pytest.raises(NotAReply, match="no calendar part"):
        _read(plain_mail(sender=KW, subject="Re: audit", body="See you then"))
    request = outlook_reply(partstat="ACCEPTED", **COMMON).replace(b"method=REPLY", b"method=REQUEST")
    calendar = calendar_part(message_from_bytes(request), max_bytes=LIMIT).decode().replace("METHOD:REPLY", "METHOD:REQUEST")
    with pytest.raises(NotAReply, match="REQUEST"):
        _read(raw_calendar_mail(sender=KW, calendar=calendar, method="REQUEST"))


@pytest.mark.parametrize(("calendar", "why"), [
    ("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:x\r\n", "not valid iCalendar"),
    ("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20261126T091500Z\r\n"
     "END:VEVENT\r\nEND:VCALENDAR\r\n", "not exactly one ATTENDEE"),
    ("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:x\r\nATTENDEE:mailto:a@b.example\r\n"
     "END:VEVENT\r\nEND:VCALENDAR\r\n", "no DTSTAMP"),
    ("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR\r\n", "0 events"),
    ("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20261126T091500Z\r\n"
     "ATTENDEE:not-an-address\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "not an email address"),
    ("x" * (LIMIT + 1), "over the limit"),
])
def test_a_malformed_or_huge_calendar_part_is_unreadable(calendar: str, why: str) -> None:
    with pytest.raises(Unreadable, match=why):
        _read(raw_calendar_mail(sender=KW, calendar=calendar))


EXCHANGE = ("spf=pass (sender IP is 192.0.2.7) smtp.mailfrom=partner.example; dkim=pass (signature was verified) "
            "header.d=partner.example;dmarc=pass action=none header.from=partner.example;compauth=pass reason=100")


def test_exchange_onlines_header_without_an_authserv_id_is_read() -> None:
    assert parse(EXCHANGE)[0] == ""
    assert dmarc_problem([EXCHANGE], authserv_id="exchange-online", domain="partner.example") is None
    assert dmarc_problem([EXCHANGE], authserv_id="mx.council.example", domain="partner.example") == (
        "no Authentication-Results header from mx.council.example")


def test_only_the_topmost_header_of_the_trusted_server_counts() -> None:
    ours = "mx.council.example; spf=fail smtp.mailfrom=evil.example; dmarc=fail (p=NONE) header.from=council.example"
    forged = "mx.council.example; dmarc=pass header.from=council.example"

    assert dmarc_problem([ours, forged], authserv_id="mx.council.example", domain="council.example") == (
        "DMARC did not pass for council.example (mx.council.example recorded fail for council.example)")
    assert dmarc_problem([forged], authserv_id="mx.council.example", domain="other.example") == (
        "DMARC did not pass for other.example (mx.council.example recorded pass for council.example)")
