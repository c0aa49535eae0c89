""""I can't make this time", from the received invite to the page in Chromium and back to the meeting and mail."""
import urllib.request

import pytest
from factories import context_at
from icalendar import Calendar
from mail_links import body_text, labelled_link, link_urls
from playwright.sync_api import Page
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens

from auditcycle.booking.meetings import CANT_MAKE, book
from auditcycle.core.clock import Month
from auditcycle.links.tokens import issue_link
from auditcycle.models import Audit, Event, Link, Meeting, MeetingAnswer, OutboxMessage, Staff
from auditcycle.models.enums import MeetingKind, MeetingStatus
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw
from auditcycle.tracker.rows import TrackerKind, list_items

LABEL = "I can't make this time"
ASKED_AT = "2026-11-26T10:00"


@pytest.fixture
def meeting(s: Session, authority, site: LiveSite, smtp_server) -> Meeting:
    """December drawn, announced and booked, with every invite received; a learning conversation of it."""
    draw(s, context_at("2026-11-23T09:00", site.settings), month=Month(2026, 12), size=2, seed=21)
    s.commit()
    s.execute(delete(OutboxMessage))
    s.commit()
    cycle = s.scalars(select(Audit)).first().cycle
    queue_notices(s, context_at("2026-11-24T12:00", site.settings), cycle=cycle)
    book(s, context_at("2026-11-25T09:00", site.settings), cycle=cycle)
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    found = s.scalars(select(Meeting).where(Meeting.kind == MeetingKind.LEARNING_CONVERSATION)
                      .order_by(Meeting.id)).first()
    # Loaded now: a lazy load later would begin a transaction that holds the write lock the site needs.
    assert found.audit.child.first_name and found.attendee.email and found.organiser.email
    _release(s)
    site.at(ASKED_AT)
    return found


def _release(s: Session) -> None:
    """End the test session's transaction: on SQLite its reads hold the write lock the site needs."""
    s.commit()


def _invites(smtp_server, meeting: Meeting, email: str) -> list:
    return [r.message for r in smtp_server.received
            if r.rcpt_tos == [email] and f"({meeting.audit.reference})" in r.message["Subject"]
            and meeting_title_kind(meeting) in r.message["Subject"]]


def meeting_title_kind(meeting: Meeting) -> str:
    """Return the words that start this meeting's invite titles."""
    return {MeetingKind.LEARNING_CONVERSATION: "Audit learning conversation"}[meeting.kind]


def _state(s: Session, meeting: Meeting) -> tuple:
    """Everything the decision could change: the meeting, the links, the outbox, the trail."""
    row = s.get(Meeting, meeting.id, populate_existing=True)
    return (row.starts_at, row.sequence, row.status,
            s.scalar(select(func.count()).select_from(Link).where(Link.used_at.is_not(None))),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
            s.scalar(select(func.count()).select_from(Event)), _release(s))


def test_an_attendee_who_cannot_make_it_gets_the_next_slot_for_everyone_from_the_invite(
        s: Session, authority, site: LiveSite, smtp_server, meeting: Meeting, page: Page) -> None:
    attendee, organiser = meeting.attendee, meeting.organiser
    child = (meeting.audit.child_id, meeting.audit.child.first_name, meeting.audit.child.last_name)
    before, uid = meeting.starts_at, meeting.uid
    _release(s)
    [invite] = _invites(smtp_server, meeting, attendee.email)
    [organisers] = _invites(smtp_server, meeting, organiser.email)
    url, other_url = labelled_link(invite, LABEL), labelled_link(organisers, LABEL)
    assert url != other_url and "auditcycle " not in body_text(invite)
    screens: list[tuple[str, bytes]] = []

    replay = page.context.new_page()
    replay.goto(url)  # a second tab, left open on the form
    page.goto(url)
    shown = page.locator("main").inner_text()
    check_page(page, "meeting-cant-make", screens)
    page.get_by_label("Why you cannot make it (optional)").fill("A court hearing <script>alert(1)</script>")
    page.get_by_role("button", name="Find another time").click()
    confirmation = page.locator("main").inner_text()
    check_page(page, "meeting-cant-make-done", screens)

    assert "Ask for another time" in shown and child[0] in shown and meeting.audit.reference in shown
    assert child[1] not in shown and child[2] not in shown
    assert f"{meeting.reference} has moved to" in confirmation
    row = s.get(Meeting, meeting.id, populate_existing=True)
    assert (row.sequence, row.status) == (1, MeetingStatus.BOOKED) and row.starts_at > before
    assert s.scalar(select(Event.actor_id).where(Event.kind == "meeting-cant-make")) == attendee.id
    _release(s)

    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    updates = {email: _invites(smtp_server, meeting, email) for email in (attendee.email, organiser.email)}
    assert [len(found) for found in updates.values()] == [1, 1]
    assert len(smtp_server.received) == 2
    for [update] in updates.values():
        assert update["Subject"].startswith("Updated: ")
        assert f"{attendee.name} cannot make" in body_text(update)
        assert "<script>alert(1)</script>" in body_text(update)
        assert "&lt;script&gt;" in update.get_body(("html",)).get_content()
        [event] = Calendar.from_ical(next(p for p in update.walk() if p.get_content_type() == "text/calendar")
                                     .get_content()).walk("VEVENT")
        assert (str(event["UID"]), int(event["SEQUENCE"])) == (uid, 1)
        # A fresh link about the new time: the used one is not carried over.
        assert labelled_link(update, LABEL) not in (url, other_url)

    before = _state(s, meeting)
    replay.get_by_role("button", name="Find another time").click()
    replayed = replay.locator("main").inner_text()
    page.goto(url)
    again = page.locator("main").inner_text()
    assert f"already done by {attendee.name} at 10:00 on Thursday 26 November 2026" in replayed
    assert f"already done by {attendee.name} at 10:00 on Thursday 26 November 2026" in again
    assert _state(s, meeting) == before
    keep_screens(screens)


def test_the_other_invite_for_the_old_time_is_refused_once_the_meeting_has_moved(
        s: Session, authority, site: LiveSite, smtp_server, meeting: Meeting, page: Page) -> None:
    attendee, organiser = meeting.attendee, meeting.organiser
    _release(s)
    [invite] = _invites(smtp_server, meeting, attendee.email)
    [organisers] = _invites(smtp_server, meeting, organiser.email)
    page.goto(labelled_link(invite, LABEL))
    page.get_by_role("button", name="Find another time").click()
    assert "has moved to" in page.locator("main").inner_text()
    before = _state(s, meeting)

    page.goto(labelled_link(organisers, LABEL))
    assert "has moved since the invitation this link came in" in page.locator("main").inner_text()
    page.get_by_role("button", name="Find another time").click()

    assert "has moved since that invite" in page.locator(".govuk-error-summary").inner_text()
    assert _state(s, meeting) == before


def test_a_reason_too_long_is_shown_beside_the_field_and_nothing_changes(
        s: Session, authority, site: LiveSite, smtp_server, meeting: Meeting, page: Page) -> None:
    _release(s)
    [invite] = _invites(smtp_server, meeting, meeting.attendee.email)
    before = _state(s, meeting)
    screens: list[tuple[str, bytes]] = []

    page.goto(labelled_link(invite, LABEL))
    page.get_by_label("Why you cannot make it (optional)").fill("x" * 501)
    page.get_by_role("button", name="Find another time").click()

    assert page.title().startswith("Error: ")
    assert "500" in page.locator(".govuk-error-summary").inner_text()
    assert "500" in page.locator(".govuk-error-message").inner_text()
    check_page(page, "meeting-cant-make-errors", screens)
    assert _state(s, meeting) == before
    keep_screens(screens)


def test_by_keyboard_alone(s: Session, authority, site: LiveSite, smtp_server, meeting: Meeting, page: Page) -> None:
    _release(s)
    [invite] = _invites(smtp_server, meeting, meeting.organiser.email)

    page.goto(labelled_link(invite, LABEL))
    page.keyboard.press("Tab")  # the skip link
    page.locator("#reason").focus()
    page.keyboard.type("On leave that week.")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert f"{meeting.reference} has moved to" in page.locator("main").inner_text()
    row = s.get(Meeting, meeting.id, populate_existing=True)
    assert row.sequence == 1
    assert "On leave that week." in s.scalar(select(Event.detail).where(Event.kind == "meeting-cant-make"))
    _release(s)


def test_a_scanner_s_get_and_head_change_nothing(
        s: Session, authority, site: LiveSite, smtp_server, meeting: Meeting) -> None:
    _release(s)
    [invite] = _invites(smtp_server, meeting, meeting.attendee.email)
    url = labelled_link(invite, LABEL)
    before = _state(s, meeting)

    for method in ("HEAD", "GET", "GET"):
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as response:
            assert response.status == 200

    assert _state(s, meeting) == before
    assert link_urls(invite) == [url]


def test_a_link_for_a_meeting_its_holder_is_not_in_is_refused_and_nothing_changes(
        s: Session, authority, site: LiveSite, smtp_server, meeting: Meeting, page: Page) -> None:
    stranger = s.scalars(select(Staff).where(Staff.active, Staff.id.not_in(
        [meeting.organiser_id, meeting.attendee_id])).order_by(Staff.id)).first()
    url = issue_link(s, context_at("2026-11-25T09:00", site.settings), purpose=CANT_MAKE,
                     subject_ref=f"{meeting.reference}:0", staff=stranger)
    s.commit()
    before = _state(s, meeting)

    page.goto(url)
    page.get_by_role("button", name="Find another time").click()

    assert "may not cant-make" in page.locator(".govuk-error-summary").inner_text()
    assert _state(s, meeting) == before


def test_a_buddy_who_cannot_come_is_recorded_and_the_auditor_told_without_moving_the_meeting(
        s: Session, authority, site: LiveSite, smtp_server, page: Page) -> None:
    draw(s, context_at("2026-11-23T09:00", site.settings), month=Month(2026, 12), seed=9)
    s.commit()
    s.execute(delete(OutboxMessage))
    s.commit()
    audit = s.scalars(select(Audit).where(Audit.buddy_id.is_not(None)).order_by(Audit.id)).first()
    assert audit is not None, "the seeded authority pairs each new auditor with a buddy"
    queue_notices(s, context_at("2026-11-24T12:00", site.settings), cycle=audit.cycle)
    book(s, context_at("2026-11-25T09:00", site.settings), cycle=audit.cycle)
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    meeting = s.scalar(select(Meeting).where(Meeting.audit_id == audit.id,
                                             Meeting.kind == MeetingKind.LEARNING_CONVERSATION))
    buddy, organiser, before = audit.buddy, meeting.organiser, (meeting.starts_at, meeting.sequence)
    buddy_id, buddy_name, organiser_email, reference = buddy.id, buddy.name, organiser.email, meeting.reference
    [invite] = _invites(smtp_server, meeting, buddy.email)
    _release(s)
    site.at(ASKED_AT)
    assert LABEL not in body_text(invite)
    url = labelled_link(invite, "I can't come")
    screens: list[tuple[str, bytes]] = []

    replay = page.context.new_page()
    replay.goto(url)
    page.goto(url)
    shown = page.locator("main").inner_text()
    check_page(page, "meeting-buddy-cant-come", screens)
    page.get_by_label("Why you cannot make it (optional)").fill("On leave that day")
    page.get_by_role("button", name="Say I can't come").click()
    confirmation = page.locator("main").inner_text()
    replay.get_by_role("button", name="Say I can't come").click()
    replayed = replay.locator("main").inner_text()
    keep_screens(screens)

    assert "Say you cannot come" in shown and "optional attendee" in shown and "not moved" in shown
    assert "the auditor has been told" in confirmation and "stays at" in confirmation
    assert "already" in replayed
    row = s.get(Meeting, meeting.id, populate_existing=True)
    assert (row.starts_at, row.sequence, row.status) == (*before, MeetingStatus.BOOKED)
    answers = s.scalars(select(MeetingAnswer)).all()
    assert [(a.meeting_id, a.staff_id, a.answer, a.reason) for a in answers] == [
        (meeting.id, buddy_id, "declined", "On leave that day")]
    listed = {m["reference"]: m["declined"] for m in list_items(session=s, kind=TrackerKind.MEETINGS,
                                                                month=Month(2026, 12), ctx=context_at(ASKED_AT, site.settings))}
    assert listed[reference] == buddy_id and sum(v is not None for v in listed.values()) == 1
    _release(s)

    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    assert [r.rcpt_tos for r in smtp_server.received] == [[organiser_email]]
    told = smtp_server.received[0].message
    assert told["Subject"] == f"{buddy_name} cannot come: {meeting_title_kind(meeting)}" or \
        told["Subject"].startswith(f"{buddy_name} cannot come: ")
    assert reference in body_text(told) or audit.reference in body_text(told)
    assert "On leave that day" in body_text(told) and not any(_calendar_part(r.message) for r in smtp_server.received)


def _calendar_part(message) -> bool:
    return any(p.get_content_type() == "text/calendar" for p in message.walk())
