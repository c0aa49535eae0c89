"""Diaries: the imported busy periods, a real Radicale (CalDAV) and a loopback Microsoft Graph, read once a person
a window; a diary that cannot be read never stops the booking, and is read again by the next run."""
import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import PLANTED
from diary_servers import BadDiaryServer, GraphServer, Radicale
from factories import context_at as ctx_at
from pydantic import ValidationError
from sqlalchemy import delete, select

from auditcycle.booking.diaries import open_diary
from auditcycle.booking.diaries.dav import CalDavDiary
from auditcycle.booking.diaries.graph import GraphDiary
from auditcycle.booking.meetings import book
from auditcycle.core.clock import Month
from auditcycle.core.settings import DiarySettings, Settings
from auditcycle.models import Audit, BusyPeriod, DiaryRecheck, Meeting, OutboxMessage, Staff
from auditcycle.models.enums import MeetingStatus, Role
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw

LONDON = ZoneInfo("Europe/London")
DEC = Month(2026, 12)
# December 2026 is all GMT, so 08:00 to 12:30 in London is the same in UTC.
MORNING = (time(8, 0), time(12, 30))


@pytest.fixture
def radicale(tmp_path):
    """A real Radicale server on loopback, stopped after the test."""
    server = Radicale(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def graph(tmp_path):
    """A Microsoft Graph and sign-in service on loopback over HTTPS, stopped after the test."""
    server = GraphServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def settings(settings):
    """The suite's settings with no wait for the key worker's family advice (booking is what is tested)."""
    framework = settings.framework.model_copy(update={"family_advice_wait_working_days": 0})
    return settings.model_copy(update={"framework": framework})


def _with_diary(settings: Settings, **diary) -> Settings:
    return settings.model_copy(update={"diary": DiarySettings(**diary)})


def _people(n: int) -> dict[str, str]:
    return {f"S{i:03}": f"person{i:03}@council.example" for i in range(n)}


def _caldav(radicale: Radicale, **overrides) -> CalDavDiary:
    given = {"source": "caldav", "caldav_url": radicale.url, "caldav_username": radicale.user,
             "caldav_password": radicale.password, **overrides}
    return CalDavDiary(DiarySettings(**given), sleep=lambda _s: None)


def _mornings(first: date, last: date) -> list[tuple[datetime, datetime]]:
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [(datetime.combine(d, MORNING[0], tzinfo=UTC), datetime.combine(d, MORNING[1], tzinfo=UTC))
            for d in days if d.weekday() < 5]


# --- settings -----------------------------------------------------------------------------------------------

def test_a_source_without_its_settings_is_refused_naming_what_is_missing() -> None:
    with pytest.raises(ValidationError) as graph_missing:
        Settings(database_url="sqlite://", diary={"source": "graph", "graph_tenant_id": "t"})
    with pytest.raises(ValidationError) as stray:
        Settings(database_url="sqlite://", diary={"caldav_url": "https://dav.council.example"})
    with pytest.raises(ValidationError) as bad_path:
        DiarySettings(source="caldav", caldav_url="https://dav.council.example", caldav_username="u",
                      caldav_password="p", caldav_calendar_path="calendars/{name}/")

    assert "graph_client_id, graph_client_secret, graph_mailbox" in str(graph_missing.value)
    assert "caldav_url set, but source is 'import'" in str(stray.value)
    assert "may name only {email} and {user}" in str(bad_path.value)
    assert Settings(database_url="sqlite://").diary.source == "import"


# --- Microsoft Graph ----------------------------------------------------------------------------------------

def test_graph_reads_busy_items_and_working_hours_in_utc(graph) -> None:
    graph.state.items["person000@council.example"] = [
        (datetime(2026, 12, 1, 9, tzinfo=UTC), datetime(2026, 12, 1, 10, tzinfo=UTC), "busy"),
        (datetime(2026, 12, 2, 9, tzinfo=UTC), datetime(2026, 12, 2, 10, tzinfo=UTC), "tentative"),
        (datetime(2026, 12, 3, 9, tzinfo=UTC), datetime(2026, 12, 3, 10, tzinfo=UTC), "workingElsewhere"),
        (datetime(2026, 12, 4, 9, tzinfo=UTC), datetime(2026, 12, 4, 17, tzinfo=UTC), "oof")]
    diary = GraphDiary(DiarySettings(**graph.settings()), sleep=lambda _s: None)

    found = diary.read(_people(1), datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))

    assert [(i.start.day, i.start.hour, i.end.hour) for i in found.busy["S000"]] == [(1, 9, 10), (2, 9, 10), (4, 9, 17)]
    assert found.hours["S000"].tz == LONDON and found.hours["S000"].start == time(8)
    assert found.unread == {} and diary.requests == 1
    call = graph.state.calls[0]
    assert call["headers"]["Prefer"] == 'outlook.timezone="UTC"'
    assert '"timeZone": "UTC"' in call["body"]


def test_graph_splits_a_group_over_twenty_and_a_window_of_six_weeks_or_more(graph) -> None:
    diary = GraphDiary(DiarySettings(**graph.settings()), sleep=lambda _s: None)
    people = _people(45)

    found = diary.read(people, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 21, tzinfo=UTC))

    # 45 people are three groups of at most 20; 50 days are two windows under 42 days.
    assert diary.requests == len(graph.state.calls) == math.ceil(45 / 20) * 2
    assert sorted(found.hours) == sorted(people) and found.unread == {}


def test_graph_working_hours_follow_each_zone_across_the_october_clock_change(graph) -> None:
    # Clocks go back at 02:00 BST on Sunday 25 October 2026 (the last Sunday of October).
    graph.state.hours["person000@council.example"] = {
        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
        "startTime": "09:00:00.0000000", "endTime": "17:00:00.0000000", "timeZone": {"name": "GMT Standard Time"}}
    graph.state.hours["person001@council.example"] = {
        "daysOfWeek": ["monday"], "startTime": "08:00:00.0000000", "endTime": "12:00:00.0000000",
        "timeZone": {"name": "Pacific Standard Time"}}
    diary = GraphDiary(DiarySettings(**graph.settings()), sleep=lambda _s: None)
    start, end = datetime(2026, 10, 22, tzinfo=UTC), datetime(2026, 10, 28, tzinfo=UTC)

    found = diary.read(_people(2), start, end)
    busy = found.busy_with_hours(start, end)

    def free(person: str) -> list[tuple[datetime, datetime]]:
        periods = sorted((i.start, i.end) for i in busy[person])
        return [(a_end, b_start) for (_a, a_end), (b_start, _b) in zip(periods, periods[1:]) if b_start > a_end]

    assert found.hours["S001"].tz == ZoneInfo("America/Los_Angeles")
    assert [(a.isoformat(), b.isoformat()) for a, b in free("S000") if start <= a and b <= end] == [
        ("2026-10-22T08:00:00+00:00", "2026-10-22T16:00:00+00:00"),  # Thursday, BST
        ("2026-10-23T08:00:00+00:00", "2026-10-23T16:00:00+00:00"),  # Friday, BST
        ("2026-10-26T09:00:00+00:00", "2026-10-26T17:00:00+00:00"),  # Monday, GMT
        ("2026-10-27T09:00:00+00:00", "2026-10-27T17:00:00+00:00")]
    # Los Angeles changes a week later (1 November): on Monday 26 October it is still 7 hours behind UTC.
    assert [(a.isoformat(), b.isoformat()) for a, b in free("S001")] == [
        ("2026-10-26T15:00:00+00:00", "2026-10-26T19:00:00+00:00")]


def test_graph_waits_out_throttling_as_told_then_reads(graph) -> None:
    graph.state.throttle, graph.state.retry_after = 2, "7"
    waits: list[float] = []
    diary = GraphDiary(DiarySettings(**graph.settings()), sleep=waits.append)

    found = diary.read(_people(3), datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))

    assert waits == [7.0, 7.0]
    assert found.unread == {} and sorted(found.hours) == ["S000", "S001", "S002"]


def test_graph_throttled_past_its_retries_or_too_long_leaves_the_diaries_unread(graph) -> None:
    graph.state.throttle = 10
    waits: list[float] = []
    diary = GraphDiary(DiarySettings(**graph.settings(retries=2)), sleep=waits.append)
    window = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))

    throttled = diary.read(_people(2), *window)
    graph.state.retry_after = "3600"
    too_long = diary.read(_people(2), *window)

    assert waits == [3.0, 3.0]
    assert throttled.unread["S000"] == "Microsoft 365: Microsoft Graph was busy (HTTP 429), still after 3 tries"
    assert "asked for 3600 seconds' wait, more than the 30 allowed" in too_long.unread["S001"]


def test_graph_a_person_with_an_error_entry_is_the_only_one_unread(graph) -> None:
    graph.state.errors["person001@council.example"] = "ErrorMailboxNotFound"
    diary = GraphDiary(DiarySettings(**graph.settings()), sleep=lambda _s: None)

    found = diary.read(_people(3), datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))

    assert found.unread == {"S001": "Microsoft 365 said ErrorMailboxNotFound for their calendar"}
    assert sorted(found.hours) == ["S000", "S002"]


def test_graph_token_that_expires_mid_run_is_renewed_and_nothing_is_lost(graph) -> None:
    graph.state.expire_after = 1
    diary = GraphDiary(DiarySettings(**graph.settings()), sleep=lambda _s: None)

    found = diary.read(_people(30), datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))

    assert graph.state.tokens == ["token-1", "token-2"]
    assert found.unread == {} and len(found.hours) == 30


def test_graph_wrong_secret_garbage_and_slow_answers_leave_diaries_unread(graph) -> None:
    window = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))
    refused = GraphDiary(DiarySettings(**graph.settings(graph_client_secret="wrong")), sleep=lambda _s: None)
    assert refused.read(_people(1), *window).unread == {
        "S000": "Microsoft 365: the sign-in service refused the app (invalid_client)"}

    graph.state.garbage = 1
    garbled = GraphDiary(DiarySettings(**graph.settings()), sleep=lambda _s: None).read(_people(1), *window)
    assert garbled.unread == {"S000": "Microsoft 365: Microsoft Graph's answer was not a schedule "
                                      "(not the JSON getSchedule returns)"}

    graph.state.delay = 1.5
    slow = GraphDiary(DiarySettings(**graph.settings(timeout_seconds=0.3, retries=1)), sleep=lambda _s: None)
    assert slow.read(_people(1), *window).unread == {
        "S000": "Microsoft 365: Microsoft Graph did not answer in time, still after 2 tries"}


# --- CalDAV -------------------------------------------------------------------------------------------------

def test_caldav_reads_each_calendar_once_from_a_real_radicale(radicale) -> None:
    radicale.put_event("person000@council.example", "a", datetime(2026, 12, 1, 9, tzinfo=UTC),
                       datetime(2026, 12, 1, 11, tzinfo=UTC))
    radicale.put_event("person000@council.example", "b", datetime(2026, 12, 2, 9, tzinfo=UTC),
                       datetime(2026, 12, 2, 11, tzinfo=UTC), transparent=True)
    radicale.put_event("person001@council.example", "c", datetime(2026, 12, 3, 14, tzinfo=UTC),
                       datetime(2026, 12, 3, 15, tzinfo=UTC))
    radicale.put_event("person001@council.example", "d", datetime(2027, 1, 3, 14, tzinfo=UTC),
                       datetime(2027, 1, 3, 15, tzinfo=UTC))
    diary = _caldav(radicale)

    found = diary.read(_people(2), datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))

    assert {p: [(i.start, i.end) for i in v] for p, v in found.busy.items()} == {
        "S000": [(datetime(2026, 12, 1, 9, tzinfo=UTC), datetime(2026, 12, 1, 11, tzinfo=UTC))],
        "S001": [(datetime(2026, 12, 3, 14, tzinfo=UTC), datetime(2026, 12, 3, 15, tzinfo=UTC))]}
    assert found.unread == {} and diary.requests == 2


def test_caldav_refused_missing_garbled_or_slow_diaries_are_unread(radicale) -> None:
    radicale.calendar("person000@council.example")
    window = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))

    refused = _caldav(radicale, caldav_password="wrong").read(_people(1), *window)
    missing = _caldav(radicale).read({"S009": "nobody@council.example"}, *window)
    garbage = BadDiaryServer()
    slow = BadDiaryServer(delay=1.5)
    try:
        garbled = CalDavDiary(DiarySettings(source="caldav", caldav_url=garbage.url, caldav_username="u",
                                            caldav_password="p"), sleep=lambda _s: None).read(_people(1), *window)
        late = CalDavDiary(DiarySettings(source="caldav", caldav_url=slow.url, caldav_username="u", caldav_password="p",
                                         timeout_seconds=0.3, retries=1), sleep=lambda _s: None).read(_people(1), *window)
    finally:
        garbage.stop()
        slow.stop()

    assert refused.unread == {"S000": "CalDAV: the calendar server refused the account (HTTP 401 or 403)"}
    assert missing.unread == {"S009": "CalDAV: the calendar server has no calendar at their address"}
    assert garbled.unread["S000"].startswith("CalDAV: the calendar server")
    assert late.unread == {"S000": "CalDAV: the calendar server did not answer in time, still after 2 tries"}
    assert slow.requests == 2


# --- booking on each source ---------------------------------------------------------------------------------

def _drawn_and_notified(s, authority, settings, size: int = 8):
    draw(s, ctx_at("2026-11-23T09:00", settings), month=DEC, size=size, seed=21)
    s.commit()
    s.execute(delete(OutboxMessage))
    s.commit()
    cycle = s.scalars(select(Audit)).first().cycle
    queue_notices(s, ctx_at("2026-11-24T12:00", settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)
    return cycle


def _involved(s, cycle) -> dict[str, str]:
    people = set()
    for audit in s.scalars(select(Audit).where(Audit.cycle_id == cycle.id)):
        people |= {audit.auditor_id, audit.child.key_worker_id, audit.child.iro_id, audit.child.cp_chair_id}
    return {staff.id: staff.email for staff in s.scalars(select(Staff).where(Staff.id.in_(people - {None})))}


def _plant_mornings(source: str, s, people: dict[str, str], radicale, graph) -> None:
    mornings = _mornings(date(2026, 11, 25), date(2027, 1, 8))
    for staff_id, email in people.items():
        if source == "import":
            s.add_all(BusyPeriod(staff_id=staff_id, starts_at=a, ends_at=b) for a, b in mornings)
        elif source == "caldav":
            # One weekly event, as a diary holds a standing commitment; the server expands it.
            radicale.put_event(email, "mornings", *mornings[0], rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20270108T235959Z")
        else:
            graph.state.items[email.lower()] = [(a, b, "busy") for a, b in mornings]
    s.commit()


@pytest.mark.parametrize("source", ["import", "caldav", "graph"])
def test_a_month_booked_on_each_source_avoids_the_busy_times_it_holds(
        source, s, authority, settings, smtp_server, radicale, graph) -> None:
    diary_settings = {"import": {}, "graph": graph.settings(),
                      "caldav": {"source": "caldav", "caldav_url": radicale.url, "caldav_username": radicale.user,
                                 "caldav_password": radicale.password}}[source]
    settings = _with_diary(settings, **diary_settings)
    cycle = _drawn_and_notified(s, authority, settings)
    people = _involved(s, cycle)
    _plant_mornings(source, s, people, radicale, graph)
    diary = open_diary(s, settings, sleep=lambda _s: None)

    summary = book(s, ctx_at("2026-11-25T09:00", settings), cycle=cycle, diary=diary)
    s.commit()

    meetings = list(s.scalars(select(Meeting).where(Meeting.status == MeetingStatus.BOOKED)))
    assert summary.booked == len(meetings) > 8 and summary.unchecked == []
    # Every meeting is in an afternoon: each morning is busy in every diary involved.
    assert sorted({m.starts_at.astimezone(LONDON).time() >= MORNING[1] for m in meetings}) == [True]
    read = {m.organiser_id for m in meetings} | {m.attendee_id for m in meetings} - {None}
    if source == "caldav":
        assert diary.requests == len(read)  # one free-busy query a person, not one a meeting
    if source == "graph":
        assert len(graph.state.calls) == math.ceil(len(read) / 20)
        sent = " ".join(call["body"] + call["path"] for call in graph.state.calls)
        assert [PLANTED["child_first"] in sent, PLANTED["child_last"] in sent,
                PLANTED["contact_name"] in sent] == [False, False, False]


def _mailbox_not_found(s, authority, settings, graph, size: int):
    """Draw and notify a month on Graph, where the first audit's key worker's mailbox cannot be found."""
    settings = _with_diary(settings, **graph.settings())
    cycle = _drawn_and_notified(s, authority, settings, size=size)
    audit = s.scalars(select(Audit).where(Audit.cycle_id == cycle.id).order_by(Audit.id)).first()
    graph.state.errors[audit.child.key_worker.email.lower()] = "ErrorMailboxNotFound"
    return settings, cycle, audit, audit.child.key_worker


def test_an_unread_diary_is_booked_on_what_is_known_flagged_and_rechecked_next_run(
        s, authority, settings, smtp_server, graph) -> None:
    settings, cycle, audit, key_worker = _mailbox_not_found(s, authority, settings, graph, size=3)
    smtp_server.received.clear()

    first = book(s, ctx_at("2026-11-25T09:00", settings), cycle=cycle,
                 diary=open_diary(s, settings, sleep=lambda _s: None))
    s.commit()
    deliver(engine=authority, settings=settings)

    conversation = s.scalar(select(Meeting).where(Meeting.audit_id == audit.id, Meeting.slot_key == "LC"))
    assert conversation is not None and conversation.status == MeetingStatus.BOOKED
    assert f"{conversation.reference}:{key_worker.id}" in first.unchecked
    assert [r.staff_id for r in s.scalars(select(DiaryRecheck))] == [key_worker.id] * len(first.unchecked)
    qa = sorted(m.email for m in s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER)))
    flagged = [r for r in smtp_server.received if "booked without reading a diary" in r.message["Subject"]]
    assert sorted(r.rcpt_tos[0] for r in flagged) == qa
    body = flagged[0].message.get_body(("plain",)).get_content()
    assert f"{key_worker.name}'s diary could not be read" in " ".join(body.split())
    assert "ErrorMailboxNotFound" in body and PLANTED["child_first"] not in body

    # The mailbox is back, and the key worker is busy at the conversation's time.
    del graph.state.errors[key_worker.email.lower()]
    was = (conversation.starts_at, conversation.ends_at)
    graph.state.items[key_worker.email.lower()] = [(was[0] - timedelta(minutes=15), was[1], "busy")]
    second = book(s, ctx_at("2026-11-25T12:00", settings), cycle=cycle,
                  diary=open_diary(s, settings, sleep=lambda _s: None))
    s.commit()

    s.refresh(conversation)
    assert second.moved >= 1 and conversation.sequence == 1
    assert conversation.starts_at >= was[1] or conversation.ends_at <= was[0] - timedelta(minutes=15)
    assert list(s.scalars(select(DiaryRecheck))) == []


# --- Teams links ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("refused", [False, True])
def test_learning_conversations_get_a_teams_link_in_our_own_invite(
        refused, s, authority, settings, smtp_server, graph) -> None:
    settings = _with_diary(settings, **graph.settings(graph_teams_organiser_id="0f1e2d3c-qa-mailbox"))
    graph.state.refuse_meetings = refused
    cycle = _drawn_and_notified(s, authority, settings, size=3)
    smtp_server.received.clear()

    book(s, ctx_at("2026-11-25T09:00", settings), cycle=cycle, diary=open_diary(s, settings, sleep=lambda _s: None))
    s.commit()
    deliver(engine=authority, settings=settings)

    meetings = list(s.scalars(select(Meeting).where(Meeting.status == MeetingStatus.BOOKED)))
    conversations = [m for m in meetings if m.slot_key == "LC"]
    invites = [(r.rcpt_tos[0], part.get_content().replace("\r\n ", "")) for r in smtp_server.received
               for part in r.message.walk() if part.get_content_type() == "text/calendar"]
    assert len(conversations) == 3 and len(graph.state.meetings) == 3
    assert {m["path"] for m in graph.state.meetings} == {"/v1.0/users/0f1e2d3c-qa-mailbox/onlineMeetings"}
    sent = " ".join(m["body"] for m in graph.state.meetings)
    assert [PLANTED["child_first"] in sent, PLANTED["child_last"] in sent] == [False, False]
    if refused:
        # No link: the location rules apply, and the booking goes on.
        assert [m.join_url for m in conversations] == [None, None, None]
        assert "teams.microsoft.com" not in " ".join(text for _to, text in invites)
    else:
        assert all(m.join_url.startswith("https://teams.microsoft.com/l/meetup-join/") for m in conversations)
        assert [m.join_url for m in meetings if m.slot_key != "LC"] == [None] * (len(meetings) - 3)
        for conversation in conversations:
            to_them = [text.replace("\\;", ";").replace("\\,", ",") for to, text in invites
                       if to == conversation.attendee.email and conversation.uid in text]
            assert [f"LOCATION:{conversation.join_url}" in text for text in to_them] == [True]


def test_a_rechecked_meeting_that_clashes_and_cannot_move_stays_and_the_qa_manager_is_told(
        s, authority, settings, smtp_server, graph) -> None:
    settings, cycle, audit, key_worker = _mailbox_not_found(s, authority, settings, graph, size=2)
    book(s, ctx_at("2026-11-25T09:00", settings), cycle=cycle, diary=open_diary(s, settings, sleep=lambda _s: None))
    s.commit()
    conversation = s.scalar(select(Meeting).where(Meeting.audit_id == audit.id, Meeting.slot_key == "LC"))
    was = conversation.starts_at
    s.commit()  # end the read: every transaction here takes SQLite's write lock, and the sender needs it
    # Back, and away for the whole of December.
    del graph.state.errors[key_worker.email.lower()]
    graph.state.items[key_worker.email.lower()] = [
        (datetime(2026, 11, 25, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC), "oof")]
    deliver(engine=authority, settings=settings)
    smtp_server.received.clear()

    second = book(s, ctx_at("2026-11-25T12:00", settings), cycle=cycle,
                  diary=open_diary(s, settings, sleep=lambda _s: None))
    s.commit()
    deliver(engine=authority, settings=settings)

    s.refresh(conversation)
    assert second.moved == 0 and (conversation.starts_at, conversation.sequence) == (was, 0)
    assert list(s.scalars(select(DiaryRecheck))) == []
    told = [r for r in smtp_server.received if "Booking exceptions" in r.message["Subject"]]
    body = " ".join(told[0].message.get_body(("plain",)).get_content().split())
    assert len(told) == len(s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER)).all())
    assert f"{conversation.audit.reference}" in body and "so it stays where it is" in body
