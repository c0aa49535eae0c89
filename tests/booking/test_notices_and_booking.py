"""Notices and bookings, received by a real SMTP server and parsed back by two calendar parsers."""
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import pytest
import vobject
from factories import context_at as ctx_at
from icalendar import Calendar
from sqlalchemy import delete, select, update

from auditcycle.booking.meetings import book, reschedule, reschedule_clashes
from auditcycle.core.clock import Month
from auditcycle.core.errors import UserError
from auditcycle.core.settings import Settings
from auditcycle.core.timescales import Timescales
from auditcycle.models import Audit, BusyPeriod, Child, FamilyContact, Meeting, OutboxMessage, Staff
from auditcycle.models.enums import AuditStatus, MeetingKind, MeetingStatus, Role
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw, withdraw

DEC = Month(2026, 12)
LONDON_TS = Timescales(Settings(database_url="sqlite://").framework, "Europe/London")




@pytest.fixture
def settings(settings):
    """The suite's settings, with no wait for the key worker's advice on reaching the family: these tests are
    about booking itself (the wait has its own, tests/web/test_family_journey.py)."""
    framework = settings.framework.model_copy(update={"family_advice_wait_working_days": 0})
    return settings.model_copy(update={"framework": framework})


def _drawn(s, settings, size: int | None = 6) -> object:
    ctx = ctx_at("2026-11-23T09:00", settings)
    draw(s, ctx, month=DEC, size=size, seed=21)
    s.commit()
    # The draw may raise supervision-gap Immediate Responses; these tests are about the later phases.
    s.execute(delete(OutboxMessage))
    s.commit()
    return s.scalars(select(Audit)).first().cycle


def _notify(s, authority, settings, cycle, now="2026-11-24T12:00") -> int:
    queued = queue_notices(s, ctx_at(now, settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)
    return queued


def _book(s, authority, settings, cycle, now="2026-11-25T09:00"):
    summary = book(s, ctx_at(now, settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)
    return summary


def _calendar_parts(received) -> list[tuple[EmailMessage, str]]:
    out = []
    for r in received:
        msg = r.message
        for part in msg.walk():
            if part.get_content_type() == "text/calendar":
                out.append((msg, part.get_content()))
    return out


def test_notify_sends_one_digest_per_person_with_one_recipient_each(s, authority, settings, smtp_server) -> None:
    cycle = _drawn(s, settings)
    audits = list(s.scalars(select(Audit)))

    _notify(s, authority, settings, cycle)

    recipients = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert all(len(r.rcpt_tos) == 1 and "," not in r.message["To"] for r in smtp_server.received)
    assert max(recipients.values()) == 1  # a digest, never one email per audit
    expected = set()
    for a in audits:
        child = a.child
        expected |= {a.auditor.email, child.key_worker.email}
        expected |= {x.email for x in (child.iro, child.cp_chair) if x}
        expected |= {st.email for st in s.scalars(select(Staff).where(Staff.role == Role.TEAM_MANAGER,
                                                                      Staff.team_id == child.team_id))}
        service_id = child.team.service_id
        expected |= {st.email for st in s.scalars(select(Staff).where(Staff.role == Role.SERVICE_MANAGER,
                                                                      Staff.service_id == service_id))}
        if a.buddy:
            expected.add(a.buddy.email)
    assert set(recipients) == expected
    assert {a.status for a in s.scalars(select(Audit))} == {AuditStatus.NOTIFIED}


def test_auditor_allocation_links_the_guidance(s, authority, settings, smtp_server) -> None:
    cycle = _drawn(s, settings, size=2)
    audit = s.scalars(select(Audit)).first()

    _notify(s, authority, settings, cycle)

    [allocation] = [r.message for r in smtp_server.received
                    if r.rcpt_tos == [audit.auditor.email] ]
    html = allocation.get_body(("html",)).get_content()
    assert f'href="{settings.framework.guidance_url}"' in html
    assert audit.reference in allocation.get_body(("plain",)).get_content()


def test_notify_twice_sends_nothing_the_second_time(s, authority, settings, smtp_server) -> None:
    cycle = _drawn(s, settings)
    first = _notify(s, authority, settings, cycle)
    count = len(smtp_server.received)

    second = _notify(s, authority, settings, cycle)

    assert first == count > 0 and second == 0
    assert len(smtp_server.received) == count


def test_book_sends_outlook_ready_invites(s, authority, settings, smtp_server) -> None:
    cycle = _drawn(s, settings)
    _notify(s, authority, settings, cycle)
    smtp_server.received.clear()

    summary = _book(s, authority, settings, cycle)

    parts = _calendar_parts(smtp_server.received)
    assert summary.booked > 0 and len(parts) >= summary.booked
    for msg, ics in parts:
        cal = Calendar.from_ical(ics)
        [event] = cal.walk("VEVENT")
        assert cal["METHOD"] == "REQUEST"
        assert str(event["ORGANIZER"]).lower() == f"mailto:{settings.mail_from}".lower()
        attendees = event.get("ATTENDEE")
        attendees = attendees if isinstance(attendees, list) else [attendees]
        assert all(a.params["RSVP"] == "TRUE" for a in attendees)
        assert str(settings.mail_from) not in {str(a).removeprefix("mailto:") for a in attendees}
        assert f"mailto:{msg['To']}".lower() in {str(a).lower() for a in attendees}
        assert event["DTSTAMP"] and event["UID"] and int(event["SEQUENCE"]) == 0
        parsed = vobject.readOne(ics)
        assert parsed.method.value == "REQUEST"
        assert parsed.vevent.uid.value == str(event["UID"])
        assert parsed.vevent.dtstart.value.utcoffset() == timedelta(0)
    raw = b"".join(r.data for r in smtp_server.received)
    assert b"RDATE" not in raw


def test_every_booked_slot_respects_hours_days_and_due_date(s, authority, settings) -> None:
    cycle = _drawn(s, settings, size=None)
    _notify(s, authority, settings, cycle)
    _book(s, authority, settings, cycle)

    meetings = list(s.scalars(select(Meeting)))
    assert meetings
    busy = list(s.scalars(select(BusyPeriod)))
    for m in meetings:
        local = m.starts_at.astimezone(LONDON_TS.tz)
        start, end = LONDON_TS.working_hours(local.date())
        assert LONDON_TS.is_working_day(local.date())
        assert start <= m.starts_at and m.ends_at <= end
        assert date(2026, 12, 1) <= local.date() <= date(2026, 12, 31)
        people = {m.organiser_id, m.attendee_id} - {None}
        assert not [b for b in busy if b.staff_id in people and b.starts_at < m.ends_at and b.ends_at > m.starts_at]
    by_person: dict[str, list[Meeting]] = {}
    for m in meetings:
        for p in {m.organiser_id, m.attendee_id} - {None}:
            by_person.setdefault(p, []).append(m)
    for items in by_person.values():
        items.sort(key=lambda m: m.starts_at)
        assert all(a.ends_at <= b.starts_at for a, b in zip(items, items[1:]))


def test_book_covers_family_young_person_and_iro_calls(s, authority, settings) -> None:
    cycle = _drawn(s, settings, size=None)
    _notify(s, authority, settings, cycle)
    _book(s, authority, settings, cycle)

    for audit in s.scalars(select(Audit)):
        kinds = Counter(m.kind for m in s.scalars(select(Meeting).where(Meeting.audit_id == audit.id)))
        child = audit.child
        age = child.age_on(date(2026, 11, 25))
        assert kinds[MeetingKind.LEARNING_CONVERSATION] == 1
        assert kinds[MeetingKind.IRO_CONVERSATION] == (child.iro is not None) + (child.cp_chair is not None)
        assert kinds[MeetingKind.FAMILY_CALL] == (len(child.contacts) if age < 18 else 0)
        young = age >= 12 or child.cohort.value == "care_experienced"
        assert kinds[MeetingKind.YOUNG_PERSON_CALL] == int(young)


def test_interpreter_need_is_marked_on_the_family_call(s, authority, settings, smtp_server) -> None:
    cycle = _drawn(s, settings, size=3)
    audit = s.scalars(select(Audit).join(Child).join(FamilyContact)).first()
    s.execute(update(FamilyContact).where(FamilyContact.child_id == audit.child_id)
              .values(interpreter_needed=True, language="Polish"))
    s.commit()
    _notify(s, authority, settings, cycle)
    smtp_server.received.clear()

    _book(s, authority, settings, cycle)

    calls = list(s.scalars(select(Meeting).where(Meeting.audit_id == audit.id,
                                                 Meeting.kind == MeetingKind.FAMILY_CALL)))
    assert calls and all(m.interpreter_language == "Polish" for m in calls)
    texts = [r.message.get_body(("plain",)).get_content() for r in smtp_server.received
             if "Family call" in r.message["Subject"] and audit.reference in r.message["Subject"]]
    assert texts and all("interpreter needed: Polish" in t for t in texts)


def test_book_twice_books_nothing_the_second_time(s, authority, settings, smtp_server) -> None:
    cycle = _drawn(s, settings)
    _notify(s, authority, settings, cycle)
    _book(s, authority, settings, cycle)
    meetings, messages = len(list(s.scalars(select(Meeting)))), len(smtp_server.received)

    again = _book(s, authority, settings, cycle, now="2026-11-25T11:00")

    assert again.booked == 0 and again.messages == 0
    assert len(list(s.scalars(select(Meeting)))) == meetings
    assert len(smtp_server.received) == messages


def test_no_free_slot_sends_one_exception_email_to_the_qa_manager(s, authority, settings, smtp_server) -> None:
    cycle = _drawn(s, settings, size=2)
    audit = s.scalars(select(Audit)).first()
    # The auditor is away for the whole of December.
    s.add(BusyPeriod(staff_id=audit.auditor_id, starts_at=datetime(2026, 11, 30, tzinfo=UTC),
                     ends_at=datetime(2027, 1, 2, tzinfo=UTC)))
    s.commit()
    _notify(s, authority, settings, cycle)
    smtp_server.received.clear()

    summary = _book(s, authority, settings, cycle)
    _book(s, authority, settings, cycle, now="2026-11-25T12:00")

    qa = s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER)).all()
    exceptions = [r for r in smtp_server.received if "Booking exceptions" in r.message["Subject"]]
    assert summary.unbooked and all(k.startswith(audit.reference) for k in summary.unbooked)
    assert sorted(r.rcpt_tos[0] for r in exceptions) == sorted(q.email for q in qa)
    body = exceptions[0].message.get_body(("plain",)).get_content()
    assert "Audit learning conversation" in body and audit.auditor_id in body


def test_christmas_week_books_around_bank_holidays(s, authority, settings) -> None:
    cycle = _drawn(s, settings, size=3)
    _notify(s, authority, settings, cycle)

    # Invites sent at 16:45 on Monday 21 December give three working days' notice, to 16:45 on Christmas
    # Eve: nothing fits before 17:00, then 25, 26, 27 and 28 (the substitute day for Boxing Day) are not
    # working days, so the first slots are on 29 December.
    _book(s, authority, settings, cycle, now="2026-12-21T16:45")

    days = {m.starts_at.astimezone(LONDON_TS.tz).date() for m in s.scalars(select(Meeting))}
    assert days and days <= {date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)}


def test_reschedule_keeps_uid_and_raises_sequence(s, authority, settings, smtp_server) -> None:
    cycle = _drawn(s, settings, size=2)
    _notify(s, authority, settings, cycle)
    _book(s, authority, settings, cycle)
    meeting = s.scalars(select(Meeting).where(Meeting.kind == MeetingKind.LEARNING_CONVERSATION)).first()
    uid, before = meeting.uid, meeting.starts_at
    qa = s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER)).first()
    smtp_server.received.clear()

    reschedule(s, ctx_at("2026-11-26T09:00", settings), reference=meeting.reference, by=qa.id)
    s.commit()
    deliver(engine=authority, settings=settings)
    # Clear both diaries so the requested time is free whatever the demo calendars hold.
    s.execute(delete(BusyPeriod).where(BusyPeriod.staff_id.in_([meeting.organiser_id, meeting.attendee_id])))
    s.execute(update(Meeting).where(Meeting.id != meeting.id).values(status=MeetingStatus.CANCELLED))
    reschedule(s, ctx_at("2026-11-26T09:05", settings), reference=meeting.reference, by=qa.id,
               to="2026-12-30T14:00")
    s.commit()
    deliver(engine=authority, settings=settings)

    sequences = []
    for _, ics in _calendar_parts(smtp_server.received):
        event = Calendar.from_ical(ics).walk("VEVENT")[0]
        assert str(event["UID"]) == uid
        sequences.append(int(event["SEQUENCE"]))
    assert sorted(set(sequences)) == [1, 2]
    assert len(smtp_server.received) == 4  # two people, two updates
    s.refresh(meeting)
    assert meeting.starts_at != before
    assert meeting.starts_at == datetime(2026, 12, 30, 14, 0, tzinfo=UTC)


def test_reschedule_to_a_weekend_is_refused(s, authority, settings) -> None:
    cycle = _drawn(s, settings, size=2)
    _notify(s, authority, settings, cycle)
    _book(s, authority, settings, cycle)
    meeting = s.scalars(select(Meeting)).first()
    qa = s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER)).first()

    with pytest.raises(UserError, match="is not free"):
        reschedule(s, ctx_at("2026-11-26T09:00", settings), reference=meeting.reference, by=qa.id,
                   to="2026-12-05T10:00")


def test_new_busy_period_moves_a_clashing_meeting(s, authority, settings, smtp_server) -> None:
    cycle = _drawn(s, settings, size=2)
    _notify(s, authority, settings, cycle)
    _book(s, authority, settings, cycle)
    meeting = s.scalars(select(Meeting).where(Meeting.kind == MeetingKind.LEARNING_CONVERSATION)).first()
    old_start = meeting.starts_at
    smtp_server.received.clear()

    s.add(BusyPeriod(staff_id=meeting.attendee_id, starts_at=old_start - timedelta(minutes=30),
                     ends_at=old_start + timedelta(hours=2)))
    moved, stuck = reschedule_clashes(s, ctx_at("2026-11-26T09:00", settings), staff_ids={meeting.attendee_id})
    s.commit()
    deliver(engine=authority, settings=settings)

    s.refresh(meeting)
    assert moved >= 1 and not stuck
    assert meeting.starts_at >= old_start + timedelta(hours=1, minutes=30) and meeting.sequence == 1
    sequences = {int(Calendar.from_ical(ics).walk("VEVENT")[0]["SEQUENCE"]) for _, ics in
                 _calendar_parts(smtp_server.received)}
    assert sequences == {1}


def test_withdraw_cancels_meetings_and_tells_those_notified(s, authority, settings, smtp_server) -> None:
    cycle = _drawn(s, settings, size=2)
    _notify(s, authority, settings, cycle)
    _book(s, authority, settings, cycle)
    audit = s.scalars(select(Audit)).first()
    booked = list(s.scalars(select(Meeting).where(Meeting.audit_id == audit.id)))
    qa = s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER)).first()
    smtp_server.received.clear()

    withdraw(s, ctx_at("2026-11-26T09:00", settings), reference=audit.reference, by=qa.id,
             reason="Family moved out of area")
    s.commit()
    deliver(engine=authority, settings=settings)

    cancels = [Calendar.from_ical(ics) for _, ics in _calendar_parts(smtp_server.received)]
    assert cancels and all(c["METHOD"] == "CANCEL" for c in cancels)
    assert {str(c.walk("VEVENT")[0]["UID"]) for c in cancels} == {m.uid for m in booked}
    assert all(int(c.walk("VEVENT")[0]["SEQUENCE"]) == 1 for c in cancels)
    for m in booked:
        s.refresh(m)
        assert m.status == MeetingStatus.CANCELLED
    withdrawn = [r for r in smtp_server.received if "withdrawn" in r.message["Subject"]]
    assert {r.rcpt_tos[0] for r in withdrawn} >= {audit.auditor.email, audit.child.key_worker.email}


def test_week_the_clocks_go_back_books_in_local_working_hours(s, authority, settings) -> None:
    october = Month(2026, 10)
    draw(s, ctx_at("2026-09-21T09:00", settings), month=october, size=4, seed=3)
    s.commit()
    cycle = s.scalars(select(Audit)).first().cycle
    _notify(s, authority, settings, cycle, now="2026-09-22T12:00")

    # Friday 23 October is BST (UTC+1); Monday 26 October, after the clocks go back, is GMT. Invites sent
    # at 14:00 on Tuesday 20 October give three working days' notice, to 14:00 on the Friday; the
    # auditors are busy until 16:30 that day, so only half-hour calls fit it and the least-loaded day
    # after it, the Monday, takes the first hour-long conversations.
    for staff_id in set(s.scalars(select(Audit.auditor_id))):
        s.add(BusyPeriod(staff_id=staff_id, starts_at=datetime(2026, 10, 23, 13, 0, tzinfo=UTC),
                         ends_at=datetime(2026, 10, 23, 15, 30, tzinfo=UTC)))
    s.commit()
    _book(s, authority, settings, cycle, now="2026-10-20T14:00")

    meetings = list(s.scalars(select(Meeting)))
    days = {m.starts_at.astimezone(LONDON_TS.tz).date() for m in meetings}
    assert {date(2026, 10, 23), date(2026, 10, 26)} <= days
    for m in meetings:
        offset = timedelta(hours=1) if m.starts_at.date() < date(2026, 10, 25) else timedelta(0)
        utc_start = m.starts_at.astimezone(UTC).replace(tzinfo=None)
        assert utc_start.time() >= (datetime(2000, 1, 1, 9) - offset).time()
        assert (m.ends_at.astimezone(UTC).replace(tzinfo=None)).time() <= (datetime(2000, 1, 1, 17) - offset).time()


def test_monthly_meetings_wait_their_notice_and_learning_conversations_the_fifth_working_day(
        s, authority, settings) -> None:
    cycle = _drawn(s, settings, size=None)
    _notify(s, authority, settings, cycle)

    # Invites sent at 13:58 on Friday 27 November: three working days' notice runs to 13:58 on Wednesday
    # 2 December; 1 December is a Tuesday, so the 5th working day of the month is Monday 7 December.
    _book(s, authority, settings, cycle, now="2026-11-27T13:58")

    meetings = list(s.scalars(select(Meeting)))
    sent = datetime(2026, 11, 27, 13, 58, tzinfo=UTC)
    conversations = [m for m in meetings if m.kind == MeetingKind.LEARNING_CONVERSATION]
    others = [m for m in meetings if m.kind != MeetingKind.LEARNING_CONVERSATION]
    assert conversations and others and {m.booked_at.replace(tzinfo=UTC) for m in meetings} == {sent}
    assert min(m.starts_at for m in others) >= datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
    assert min(m.starts_at for m in conversations) >= datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_a_move_keeps_the_minimum_notice_from_when_the_update_is_sent(s, authority, settings, smtp_server) -> None:
    cycle = _drawn(s, settings, size=2)
    _notify(s, authority, settings, cycle)
    _book(s, authority, settings, cycle)
    meeting = s.scalars(select(Meeting).where(Meeting.kind == MeetingKind.FAMILY_CALL)).first()
    qa = s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER)).first()
    s.execute(delete(BusyPeriod).where(BusyPeriod.staff_id == meeting.organiser_id))
    s.execute(update(Meeting).where(Meeting.id != meeting.id).values(status=MeetingStatus.CANCELLED))
    # Out of the way of the slot the move should find, wherever the spread first put it.
    s.execute(update(Meeting).where(Meeting.id == meeting.id).values(
        starts_at=datetime(2026, 12, 30, 9, 0, tzinfo=UTC), ends_at=datetime(2026, 12, 30, 9, 30, tzinfo=UTC)))
    s.commit()

    # Moved at 10:00 on Wednesday 9 December: three working days' notice runs to 10:00 on Monday the 14th.
    with pytest.raises(UserError, match="no sooner than 2026-12-14 10:00"):
        reschedule(s, ctx_at("2026-12-09T10:00", settings), reference=meeting.reference, by=qa.id,
                   to="2026-12-11T10:00")
    reschedule(s, ctx_at("2026-12-09T10:00", settings), reference=meeting.reference, by=qa.id)
    s.commit()

    s.refresh(meeting)
    assert meeting.starts_at == datetime(2026, 12, 14, 10, 0, tzinfo=UTC) and meeting.sequence == 1

