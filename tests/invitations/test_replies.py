"""Replies read back: a month booked, replies put in a real IMAP mailbox, the `replies` phase run through Prefect.

Each reply in the shape its client sends; each attendee told once per change; a re-run reads nothing twice.
"""
from datetime import UTC, datetime, timedelta

import pytest
from conftest import PLANTED, QA_MANAGER
from icalendar import Calendar
from imap_server import ImapServer
from reply_mail import (
    AUTHSERV,
    apple_reply,
    authentication,
    gmail_reply,
    outlook_counter,
    outlook_reply,
    plain_mail,
    raw_calendar_mail,
)
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from auditcycle.booking.meetings import book, meeting_title
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.settings import RepliesSettings, get_settings
from auditcycle.models import Audit, BusyPeriod, Meeting, MeetingAnswer, OutboxMessage, ReplyMessage, Staff
from auditcycle.models.enums import MeetingKind, Role
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw
from auditcycle.tracker.rows import TrackerKind, list_items

NOW = "2026-11-26T10:00"
STAMP = datetime(2026, 11, 26, 9, 15, tzinfo=UTC)


@pytest.fixture
def imap():
    """A real IMAP server (Dovecot, else pymap) with an empty QA mailbox."""
    with ImapServer() as server:
        yield server


@pytest.fixture
def month(authority, smtp_env, imap, monkeypatch, prefect_harness) -> list[Meeting]:
    """December drawn, announced and booked, every invite received; its learning conversations."""
    for name, value in {**imap.settings(), "AUDITCYCLE_REPLIES__AUTHSERV_ID": AUTHSERV,
                        "AUDITCYCLE_REPLIES__REBOOK_DECLINES": "1"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with sessionmaker(bind=authority, expire_on_commit=False)() as s:
        draw(s, build_context("2026-11-23T09:00"), month=Month(2026, 12), size=4, seed=21)
        s.commit()
        cycle = s.scalars(select(Audit)).first().cycle
        queue_notices(s, build_context("2026-11-24T12:00"), cycle=cycle)
        book(s, build_context("2026-11-25T09:00"), cycle=cycle)
        s.commit()
        found = list(s.scalars(select(Meeting).where(Meeting.kind == MeetingKind.LEARNING_CONVERSATION)
                               .order_by(Meeting.id)))
        for m in found:
            # Loaded now, for the replies the test writes after the session has closed.
            assert m.organiser.email and m.attendee.email and m.audit.due_date and m.audit.cycle and m.audit.reference
            assert m.contact is None and (m.audit.buddy is None or m.audit.buddy.email)
    deliver(engine=authority, settings=get_settings())
    smtp_env.received.clear()
    assert len(found) == 4
    return found


def _run(now: str = NOW) -> dict:
    from auditcycle.flows.replies import replies

    return replies(now=now, by=QA_MANAGER)


def _facts(m: Meeting, person: Staff, **extra) -> dict:
    return {"uid": m.uid, "sender": person.email, "name": person.name, "sequence": m.sequence, "stamp": STAMP,
            "start": m.starts_at, "end": m.ends_at, "title": meeting_title(m), **extra}


def _free_hour(s: Session, m: Meeting) -> datetime:
    """Return a working-day hour, other than the meeting's own, when its two people are free and under the cap."""
    people = [m.organiser_id, m.attendee_id]
    day = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    while True:
        day += timedelta(days=1)
        if day.weekday() >= 5:
            continue
        day_meetings = s.scalar(select(func.count()).select_from(Meeting).where(
            Meeting.starts_at >= day.replace(hour=0), Meeting.starts_at < day.replace(hour=23),
            or_(Meeting.organiser_id.in_(people), Meeting.attendee_id.in_(people))))
        if day_meetings:
            continue
        for hour in (11, 13, 14):
            start, end = day.replace(hour=hour), day.replace(hour=hour + 1)
            if not s.scalar(select(func.count()).select_from(BusyPeriod).where(
                    BusyPeriod.staff_id.in_(people), BusyPeriod.starts_at < end, BusyPeriod.ends_at > start)):
                return start


def _calendar(message) -> Calendar:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    return Calendar.from_ical(part.get_content())


def _state(s: Session) -> tuple:
    meetings = [(m.id, m.starts_at, m.sequence) for m in s.scalars(select(Meeting).order_by(Meeting.id))]
    answers = [(a.meeting_id, a.staff_id, a.answer, a.sequence)
               for a in s.scalars(select(MeetingAnswer).order_by(MeetingAnswer.id))]
    return meetings, answers, s.scalar(select(func.count()).select_from(OutboxMessage))


def test_replies_from_a_real_mailbox_record_answers_rebook_declines_and_answer_counters_once(
        authority, smtp_env, imap: ImapServer, month: list[Meeting], caplog, capfd) -> None:
    m1, m2, m3, m4 = month
    kw1, auditor1, kw2, kw3, kw4 = m1.attendee, m1.organiser, m2.attendee, m3.attendee, m4.attendee
    factory = sessionmaker(bind=authority, expire_on_commit=False)
    with factory() as s:
        proposed = _free_hour(s, m3)
    forged = authentication(kw1.email.rpartition("@")[2], dmarc="fail")
    duplicate = gmail_reply(partstat="ACCEPTED", **_facts(m4, kw4))
    boxing_day = datetime(2026, 12, 28, 10, 0, tzinfo=UTC)
    evening = m4.starts_at.replace(hour=18)
    imap.append(
        outlook_reply(partstat="ACCEPTED", comment="Looking forward to it", **_facts(m1, kw1)),
        apple_reply(partstat="TENTATIVE", **_facts(m1, auditor1)),
        gmail_reply(partstat="DECLINED", **_facts(m2, kw2)),
        outlook_counter(original=m3.starts_at, original_end=m3.ends_at, comment="Could we do this instead?",
                        **{**_facts(m3, kw3), "start": proposed, "end": proposed + timedelta(hours=1)}),
        outlook_counter(original=m4.starts_at, original_end=m4.ends_at,
                        **{**_facts(m4, kw4), "start": boxing_day, "end": boxing_day + timedelta(hours=1)}),
        outlook_counter(original=m4.starts_at, original_end=m4.ends_at,
                        **{**_facts(m4, kw4, stamp=STAMP + timedelta(minutes=1)), "start": evening,
                           "end": evening + timedelta(hours=1)}),
        duplicate, duplicate,
        plain_mail(sender=kw1.email, subject="Re: your audit", body="Thanks"),
        outlook_reply(partstat="ACCEPTED", **{**_facts(m1, kw1), "uid": "no-such-meeting@elsewhere.example"}),
        outlook_reply(partstat="ACCEPTED", **{**_facts(m1, kw1), "sender": "someone@council.example"}),
        outlook_reply(partstat="DECLINED", auth=forged, **_facts(m1, kw1, stamp=STAMP + timedelta(hours=1))),
        raw_calendar_mail(sender=kw1.email, calendar="BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n" + "X" * 300_000),
        raw_calendar_mail(sender=kw1.email, calendar="BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\n"),
    )

    summary = _run()

    with factory() as s:
        outcomes = [r.outcome.value for r in s.scalars(select(ReplyMessage).order_by(ReplyMessage.uid))]
        rows = {m.id: s.get(Meeting, m.id) for m in month}
        answers = {(a.meeting_id, a.staff_id): (a.answer, a.sequence, a.source, a.reason)
                   for a in s.scalars(select(MeetingAnswer))}
        listed = {i["reference"]: i["answers"] for i in list_items(session=s, kind=TrackerKind.MEETINGS,
                                                                    ctx=build_context(NOW))}
        qa = [st.email for st in s.scalars(select(Staff).where(Staff.id == QA_MANAGER))]
        managers = list(s.scalars(select(Staff.email).where(Staff.active, Staff.role == Role.QA_MANAGER)))
    assert outcomes == ["recorded", "recorded", "rebooked", "counter_accepted", "counter_declined",
                        "counter_declined", "recorded", "duplicate", "not_a_reply", "unknown_meeting", "held",
                        "held", "unreadable", "unreadable"]
    assert summary["read"] == 14 and summary["delivery"]["failed"] == 0
    assert answers[m1.id, kw1.id] == ("accepted", 0, "calendar", "Looking forward to it")
    assert answers[m1.id, auditor1.id] == ("tentative", 0, "calendar", None)
    assert answers[m2.id, kw2.id] == ("declined", 0, "calendar", None)
    assert listed[m1.reference] == f"{kw1.id} accepted, {auditor1.id} tentative" or \
        listed[m1.reference] == f"{auditor1.id} tentative, {kw1.id} accepted"
    assert (rows[m2.id].sequence, rows[m2.id].starts_at != m2.starts_at) == (1, True)
    assert (rows[m3.id].sequence, rows[m3.id].starts_at) == (1, proposed)
    assert (rows[m4.id].sequence, rows[m4.id].starts_at, rows[m1.id].sequence) == (0, m4.starts_at, 0)

    by_recipient: dict[str, list] = {}
    for received in smtp_env.received:
        by_recipient.setdefault(received.rcpt_tos[0], []).append(received.message)
    for m in (m2, m3):
        for person in {m.organiser, m.attendee, *( [m.audit.buddy] if m.audit.buddy else [])}:
            updates = [msg for msg in by_recipient[person.email] if msg["Subject"].startswith("Updated: ")
                       and m.audit.reference in msg["Subject"]]
            assert len(updates) == 1, person.id
            [event] = _calendar(updates[0]).walk("VEVENT")
            assert (str(event["UID"]), int(event["SEQUENCE"])) == (m.uid, 1)
    declines = [msg for msg in by_recipient[kw4.email] if msg["Subject"].startswith("New time not possible")]
    assert len(declines) == 2
    reasons = sorted(str(_calendar(d)["METHOD"]) + ": " + str(_calendar(d).walk("VEVENT")[0]["COMMENT"])
                     for d in declines)
    assert reasons[0].startswith("DECLINECOUNTER: Monday 28 December 2026 is a bank holiday")
    assert reasons[1].startswith("DECLINECOUNTER: the 60-minute meeting would fall outside working hours")
    told = [msg["Subject"] for msg in by_recipient[qa[0]] if msg["Subject"].startswith("Invite reply for the QA")]
    assert len(told) == 4
    mail = b"\n".join(r.data for r in smtp_env.received).decode("utf-8", "replace")
    output = capfd.readouterr()
    logs = output.out + output.err + "\n".join(r.getMessage() for r in caplog.records)
    assert "replies" in logs  # the run's own log lines are there to be searched
    for value in (PLANTED["child_first"], PLANTED["child_last"]):
        assert value not in mail and value not in logs

    with factory() as s:
        before = _state(s)
    smtp_env.received.clear()
    again = _run()
    with factory() as s:
        assert _state(s) == before
    assert again["read"] == 0 and smtp_env.received == []

    with factory() as s:
        m2_now = s.get(Meeting, m2.id)
        stale = outlook_reply(partstat="ACCEPTED", **_facts(m2, kw2, stamp=STAMP + timedelta(hours=2)))
        older = outlook_reply(partstat="DECLINED", **_facts(m1, kw1, stamp=STAMP - timedelta(hours=1)))
        declined_again = gmail_reply(partstat="DECLINED", **_facts(m2_now, kw2, stamp=STAMP + timedelta(hours=3)))
    imap.append(stale, older, declined_again)

    third = _run("2026-11-26T11:00")

    with factory() as s:
        latest = [r.outcome.value for r in s.scalars(select(ReplyMessage).order_by(ReplyMessage.uid))][-3:]
        assert s.get(Meeting, m2.id).sequence == 1
        assert s.get(MeetingAnswer, s.scalar(select(MeetingAnswer.id).where(
            MeetingAnswer.meeting_id == m1.id, MeetingAnswer.staff_id == kw1.id))).answer == "accepted"
    assert latest == ["stale", "stale", "handed_over"] and third["read"] == 3
    # Only the hand-over is told, to each QA manager once; the stale replies change nothing and tell nobody.
    assert sorted((r.rcpt_tos[0], r.message["Subject"]) for r in smtp_env.received) == sorted(
        (email, f"Invite reply for the QA team: {meeting_title(m2)}") for email in managers)


def test_the_replies_phase_reads_nothing_without_a_mailbox(authority, smtp_env, prefect_harness) -> None:
    from auditcycle.flows.replies import replies
    from auditcycle.runs.phases import skip_reason

    assert _run() == {"skipped": "no QA mailbox is set (replies.imap_host)"}
    assert skip_reason("replies", build_context(NOW)) == "no QA mailbox is set (replies.imap_host)"
    # Given a month, a run goes ahead, and its task reads nothing.
    assert replies(month="2026-11", now=NOW, by=QA_MANAGER)["read"] == 0


def test_a_message_too_large_to_fetch_is_recorded_unreadable_once_and_the_qa_manager_told(s: Session) -> None:
    from factories import context_at

    from auditcycle.invitations.replies import Received, handle_message

    ctx = context_at(NOW)
    received = Received(mailbox="qa@imap/INBOX", uid_validity=7, uid=42, size=6_000_000, raw=None)

    row = handle_message(s, ctx, received)
    again = handle_message(s, ctx, received)

    assert (row.outcome.value, row.detail) == ("unreadable", "the message has 6,000,000 bytes, over the limit of 5,000,000")
    assert again is None
    told = list(s.scalars(select(OutboxMessage.recipient_id).where(OutboxMessage.subject_ref == f"reply-{row.id}")))
    assert told == list(s.scalars(select(Staff.id).where(Staff.active, Staff.role == Role.QA_MANAGER)
                                  .order_by(Staff.id))) != []


@pytest.mark.parametrize("given", [{"imap_host": "imap.council.example"},
                                   {"imap_host": "h", "imap_user": "u", "imap_password": "p"},
                                   {"imap_host": "h", "imap_user": "u", "imap_password": "p",
                                    "imap_oauth2_token": "t", "authserv_id": "mx"}])
def test_the_mailbox_settings_are_all_or_none(given: dict) -> None:
    with pytest.raises(ValueError, match="replies: set"):
        RepliesSettings(**given)
    assert RepliesSettings(imap_host="h", imap_user="u", imap_oauth2_token="t", authserv_id="mx").configured


def test_a_run_killed_mid_mailbox_then_resumed_reads_each_message_once(
        authority, app_env: str, smtp_env, imap: ImapServer, month: list[Meeting], tmp_path) -> None:
    import prefect.settings
    from crash_harness import CrashHarness, Database

    from auditcycle.core import faults
    from auditcycle.storage.db import get_engine

    m1, m2, m3, _ = month
    imap.append(outlook_reply(partstat="ACCEPTED", **_facts(m1, m1.attendee)),
                gmail_reply(partstat="DECLINED", **_facts(m2, m2.attendee)),
                gmail_reply(partstat="DECLINED", **_facts(m3, m3.attendee)),
                plain_mail(sender=m1.attendee.email, subject="Re: audit", body="Thanks"))
    get_engine().dispose()
    harness = CrashHarness(database=Database(app_env, authority, tmp_path), smtp_server=smtp_env, workdir=tmp_path,
                           prefect_api_url=prefect.settings.PREFECT_API_URL.value(),
                           command=["run", "replies", "--by", QA_MANAGER, "--now", NOW])
    harness.db.save()
    reference = harness.take_reference()
    assert len(harness.expected) >= 4  # the two rebooked meetings' updates

    # Killed inside the third message's transaction: two messages are read, the third's move rolls back.
    kill = harness.kill_and_resume(faults.REPLY_READ, hit=3)

    assert kill.problems == [], kill.problems
    assert (kill.killed, kill.rows_lost, kill.rows_extra, kill.messages_lost, kill.duplicates) == (True, 0, 0, 0, 0)
    with sessionmaker(bind=authority)() as s:
        read = list(s.scalars(select(ReplyMessage.uid)))
        assert len(read) == len(set(read)) == 4
        assert [s.get(Meeting, m.id).sequence for m in (m1, m2, m3)] == [0, 1, 1]
    assert sorted(reference.received) != [] and len(harness.smtp.received) == len(reference.received)


def test_the_buddys_decline_is_recorded_and_the_auditor_told_once_without_moving_the_meeting(
        authority, smtp_env, imap: ImapServer, month: list[Meeting]) -> None:
    m1 = month[0]
    factory = sessionmaker(bind=authority, expire_on_commit=False)
    with factory() as s:
        audit = s.get(Audit, m1.audit_id)
        buddy = s.scalars(select(Staff).where(Staff.auditor, Staff.active,
                                              Staff.id.not_in([m1.organiser_id, m1.attendee_id]))).first()
        audit.buddy_id = buddy.id
        s.commit()
    imap.append(gmail_reply(partstat="DECLINED", **_facts(m1, buddy)),
                gmail_reply(partstat="DECLINED", **_facts(m1, buddy, stamp=STAMP + timedelta(minutes=5))))

    summary = _run()

    with factory() as s:
        row = s.get(Meeting, m1.id)
        answer = s.scalar(select(MeetingAnswer).where(MeetingAnswer.meeting_id == m1.id,
                                                      MeetingAnswer.staff_id == buddy.id))
        assert (row.sequence, row.starts_at) == (0, m1.starts_at)
        assert (answer.answer, answer.source, answer.answered_at) == (
            "declined", "calendar", STAMP + timedelta(minutes=5))
    assert summary["recorded"] == 2
    told = [(r.rcpt_tos[0], r.message["Subject"]) for r in smtp_env.received]
    assert told == [(m1.organiser.email, f"{buddy.name} cannot come: {meeting_title(m1)}")]


@pytest.fixture
def oauth_imap():
    """A Dovecot mailbox that also signs in with an OAuth 2.0 access token (XOAUTH2)."""
    with ImapServer(xoauth2=True) as server:
        yield server


def test_the_mailbox_is_read_with_an_xoauth2_token_and_an_expired_one_fails_the_run_naming_no_secret(
        authority, smtp_env, oauth_imap: ImapServer, month: list[Meeting], monkeypatch) -> None:
    from imap_server import TOKEN

    from auditcycle.invitations.mailbox import MailboxError

    for name, value in oauth_imap.settings().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AUDITCYCLE_REPLIES__IMAP_PASSWORD")
    monkeypatch.setenv("AUDITCYCLE_REPLIES__IMAP_OAUTH2_TOKEN", "expired-token")
    get_settings.cache_clear()
    m1 = month[0]
    oauth_imap.append(outlook_reply(partstat="ACCEPTED", **_facts(m1, m1.attendee)))

    with pytest.raises(MailboxError) as refused:
        _run()
    monkeypatch.setenv("AUDITCYCLE_REPLIES__IMAP_OAUTH2_TOKEN", TOKEN)
    get_settings.cache_clear()
    summary = _run()

    assert "expired-token" not in str(refused.value) and "qa-team@council.example" in str(refused.value)
    assert oauth_imap.tokens.asked == ["expired-token", TOKEN]
    assert (summary["read"], summary["recorded"]) == (1, 1)


def test_a_counter_when_someone_is_busy_or_from_the_buddy_is_refused_with_the_reason(
        authority, smtp_env, imap: ImapServer, month: list[Meeting]) -> None:
    m1 = month[0]
    factory = sessionmaker(bind=authority, expire_on_commit=False)
    with factory() as s:
        proposed = _free_hour(s, m1)
        s.add(BusyPeriod(staff_id=m1.organiser_id, starts_at=proposed, ends_at=proposed + timedelta(hours=2),
                         source="ics"))
        buddy = s.scalars(select(Staff).where(Staff.auditor, Staff.active,
                                              Staff.id.not_in([m1.organiser_id, m1.attendee_id]))).first()
        s.get(Audit, m1.audit_id).buddy_id = buddy.id
        s.commit()
    window = {"start": proposed, "end": proposed + timedelta(hours=1)}
    imap.append(outlook_counter(original=m1.starts_at, original_end=m1.ends_at, **{**_facts(m1, m1.attendee), **window}),
                outlook_counter(original=m1.starts_at, original_end=m1.ends_at,
                                **{**_facts(m1, buddy, stamp=STAMP + timedelta(minutes=1)), **window}))

    summary = _run()

    with factory() as s:
        assert (s.get(Meeting, m1.id).sequence, s.get(Meeting, m1.id).starts_at) == (0, m1.starts_at)
    assert summary["counter_declined"] == 2
    comments = {r.rcpt_tos[0]: str(_calendar(r.message).walk("VEVENT")[0]["COMMENT"]) for r in smtp_env.received}
    assert comments == {
        m1.attendee.email: "someone invited is busy then, or already has the most audit meetings a day allows (2)",
        buddy.email: "the time is set around the required attendees; an optional attendee cannot move it"}
