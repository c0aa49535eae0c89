"""The Done-when of real diaries: a month booked on each diary source, with Accept, Decline and COUNTER replies read
from a real IMAP mailbox, ends with every learning conversation accepted, rebooked by itself around the diaries,
moved to the time proposed, or with the QA manager; each attendee told once per change.

Every morning is busy in every diary involved (as the source holds it: busy periods, a weekly CalDAV event on a
real Radicale, Graph's busy items on a loopback Graph), so a rebooked meeting landing in an afternoon shows the
replies phase read the same diaries the booking did.
"""
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import QA_MANAGER
from diary_servers import GraphServer, Radicale
from imap_server import ImapServer
from reply_mail import AUTHSERV, gmail_reply, outlook_counter, outlook_reply
from sqlalchemy import func, or_, select
from sqlalchemy.orm import sessionmaker

from auditcycle.booking.meetings import book, meeting_title
from auditcycle.console.drawn_list import list_view
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.settings import get_settings
from auditcycle.models import Audit, BusyPeriod, Meeting, ReplyMessage, Staff
from auditcycle.models.enums import MeetingKind, Role
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw

LONDON = ZoneInfo("Europe/London")
NOW = "2026-11-26T10:00"
STAMP = datetime(2026, 11, 26, 9, 15, tzinfo=UTC)
MORNING = (time(8, 0), time(12, 30))  # December is GMT: the same in UTC


def _mornings() -> list[tuple[datetime, datetime]]:
    days = (date(2026, 11, 25) + timedelta(days=n) for n in range(45))
    return [(datetime.combine(d, MORNING[0], tzinfo=UTC), datetime.combine(d, MORNING[1], tzinfo=UTC))
            for d in days if d.weekday() < 5]


@pytest.fixture
def servers(tmp_path):
    """A real IMAP mailbox, a real Radicale and a loopback Microsoft Graph, stopped after the test."""
    (tmp_path / "dav").mkdir()
    radicale, graph = Radicale(tmp_path / "dav"), GraphServer(tmp_path)
    with ImapServer() as imap:
        yield imap, radicale, graph
    radicale.stop()
    graph.stop()


def _environment(source: str, imap: ImapServer, radicale: Radicale, graph: GraphServer) -> dict[str, str]:
    diary = {"import": {"source": "import"}, "graph": graph.settings(),
             "caldav": {"source": "caldav", "caldav_url": radicale.url, "caldav_username": radicale.user,
                        "caldav_password": radicale.password}}[source]
    return {**imap.settings(), "AUDITCYCLE_REPLIES__AUTHSERV_ID": AUTHSERV, "AUDITCYCLE_REPLIES__REBOOK_DECLINES": "1",
            "AUDITCYCLE_FRAMEWORK__FAMILY_ADVICE_WAIT_WORKING_DAYS": "0",
            **{f"AUDITCYCLE_DIARY__{key.upper()}": str(value) for key, value in diary.items()}}


def _plant_mornings(source: str, s, radicale: Radicale, graph: GraphServer) -> None:
    """Make every morning busy for everyone the month involves, in the source's own form."""
    people: dict[str, str] = {}
    for audit in s.scalars(select(Audit)):
        for staff in (audit.auditor, audit.child.key_worker, audit.child.iro, audit.child.cp_chair, audit.buddy):
            if staff is not None:
                people[staff.id] = staff.email
    mornings = _mornings()
    for staff_id, email in people.items():
        if source == "import":
            s.add_all(BusyPeriod(staff_id=staff_id, starts_at=a, ends_at=b) for a, b in mornings)
        elif source == "caldav":
            radicale.put_event(email, "mornings", *mornings[0],
                               rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20270108T235959Z")
        else:
            graph.state.items[email.lower()] = [(a, b, "busy") for a, b in mornings]
    s.commit()


def _free_afternoon(s, m: Meeting) -> datetime:
    """Return an afternoon hour, on a working day after the meeting's notice, when neither of its people meets."""
    people = [m.organiser_id, m.attendee_id]
    day = datetime(2026, 12, 9, 14, 0, tzinfo=UTC)
    while True:
        day += timedelta(days=1)
        if day.weekday() >= 5:
            continue
        meets = s.scalar(select(func.count()).select_from(Meeting).where(
            Meeting.starts_at >= day.replace(hour=0), Meeting.starts_at < day.replace(hour=23),
            or_(Meeting.organiser_id.in_(people), Meeting.attendee_id.in_(people))))
        if not meets:
            return day


def _facts(m: Meeting, person: Staff, **extra) -> dict:
    return {"uid": m.uid, "sender": person.email, "name": person.name, "sequence": m.sequence, "stamp": STAMP,
            "start": m.starts_at, "end": m.ends_at, "title": meeting_title(m), **extra}


def _afternoon(moment: datetime) -> bool:
    return moment.astimezone(LONDON).time() >= MORNING[1]


@pytest.mark.parametrize("source", ["import", "caldav", "graph"])
def test_a_month_on_each_diary_source_ends_with_every_meeting_accepted_rebooked_or_with_the_qa_manager(
        source, authority, smtp_env, servers, monkeypatch, prefect_harness) -> None:
    from auditcycle.flows.replies import replies

    imap, radicale, graph = servers
    for name, value in _environment(source, imap, radicale, graph).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    assert get_settings().diary.source == source
    factory = sessionmaker(bind=authority, expire_on_commit=False)
    with factory() as s:
        draw(s, build_context("2026-11-23T09:00"), month=Month(2026, 12), size=4, seed=21)
        s.commit()
        cycle = s.scalars(select(Audit)).first().cycle
        _plant_mornings(source, s, radicale, graph)
        queue_notices(s, build_context("2026-11-24T12:00"), cycle=cycle)
        assert book(s, build_context("2026-11-25T09:00"), cycle=cycle).unchecked == []
        s.commit()
        month = list(s.scalars(select(Meeting).where(Meeting.kind == MeetingKind.LEARNING_CONVERSATION)
                               .order_by(Meeting.id)))
        assert len(month) == 4 and all(_afternoon(m.starts_at) for m in month)
        m1, m2, m3, m4 = month
        people = {m.id: {m.organiser, m.attendee} for m in month}
        # Loaded now, for the replies written after the session has closed.
        assert all(p.email for ps in people.values() for p in ps) and all(m.audit.reference for m in month)
        assert all(m.contact is None and m.audit.cycle for m in month)
        proposed = _free_afternoon(s, m3)
        managers = set(s.scalars(select(Staff.email).where(Staff.active, Staff.role == Role.QA_MANAGER)))
    deliver(engine=authority, settings=get_settings())
    smtp_env.received.clear()

    # Everyone accepts m1; m2's key worker declines; m3's proposes another time; m4's declines, then declines again.
    imap.append(
        *(outlook_reply(partstat="ACCEPTED", **_facts(m1, person)) for person in people[m1.id]),
        gmail_reply(partstat="DECLINED", **_facts(m2, m2.attendee)),
        outlook_counter(original=m3.starts_at, original_end=m3.ends_at,
                        **{**_facts(m3, m3.attendee), "start": proposed, "end": proposed + timedelta(hours=1)}),
        outlook_reply(partstat="DECLINED", **_facts(m4, m4.attendee)),
    )
    first = replies(now=NOW, by=QA_MANAGER)
    with factory() as s:
        m4_moved = s.get(Meeting, m4.id)
        assert m4_moved.sequence == 1
        again = gmail_reply(partstat="DECLINED", **_facts(m4_moved, m4.attendee, stamp=STAMP + timedelta(hours=1)))
    imap.append(again)
    second = replies(now="2026-11-26T11:00", by=QA_MANAGER)

    with factory() as s:
        outcomes = [r.outcome.value for r in s.scalars(select(ReplyMessage).order_by(ReplyMessage.uid))]
        rows = {m.id: s.get(Meeting, m.id) for m in month}
        # The console's list shows each answer to a meeting's current time, by name.
        shown = {row.listed.audit_ref: " ".join(row.meetings) for row in list_view(
            s, build_context(NOW), Month(2026, 12), s.get(Staff, QA_MANAGER)).rows}
    assert all(f"{person.name} accepted" in shown[m1.audit.reference] for person in people[m1.id])
    assert "declined" not in shown[m2.audit.reference]  # it moved: the decline was to the old time
    assert outcomes == ["recorded", "recorded", "rebooked", "counter_accepted", "rebooked", "handed_over"]
    assert (first["read"], second["read"], first["delivery"]["failed"], second["delivery"]["failed"]) == (5, 1, 0, 0)
    assert (rows[m1.id].sequence, rows[m1.id].starts_at) == (0, m1.starts_at)  # accepted: where it was
    assert rows[m2.id].sequence == 1 and rows[m2.id].starts_at != m2.starts_at
    assert _afternoon(rows[m2.id].starts_at) and _afternoon(rows[m4.id].starts_at)  # around the diaries' mornings
    assert (rows[m3.id].sequence, rows[m3.id].starts_at) == (1, proposed)
    assert rows[m4.id].sequence == 1  # the second decline went to the QA manager, not another move

    told: dict[str, list[str]] = {}
    for received in smtp_env.received:
        told.setdefault(received.rcpt_tos[0], []).append(received.message["Subject"])
    for m in (m2, m3, m4):
        for person in people[m.id]:
            updates = [t for t in told.get(person.email, []) if t.startswith("Updated: ") and m.audit.reference in t]
            assert len(updates) == 1, (source, m.reference, person.id, told.get(person.email))
    assert all(not any(t.startswith("Updated: ") and m1.audit.reference in t for t in subjects)
               for subjects in told.values())
    handed = [email for email, subjects in told.items()
              if f"Invite reply for the QA team: {meeting_title(m4)}" in subjects]
    assert sorted(handed) == sorted(managers)
