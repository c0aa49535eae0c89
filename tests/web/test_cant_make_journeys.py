""""I can't make this time" from the other invites: the moderation panel, a Make a Difference interview and the
reflective learning session, from the received invite to the page in Chromium and back to the rows and mail."""
from datetime import timedelta

import pytest
import vobject
from factories import context_at
from icalendar import Calendar
from mail_links import body_text, labelled_link
from playwright.sync_api import Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens, tab_to

from auditcycle.booking.window import panel_earliest_start
from auditcycle.core.clock import Month
from auditcycle.learning.culture import interview_last_day, invite_learning_session, nominate_interview
from auditcycle.models import (
    Audit,
    AuditCycle,
    BusyPeriod,
    Event,
    Link,
    MakeADifference,
    OutboxMessage,
    SessionApology,
    Staff,
    Submission,
)
from auditcycle.models.enums import QA_TEAM_ROLES, AuditStatus, Role
from auditcycle.moderation.panel import closure_day, select_for_moderation
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw
from auditcycle.submissions.grades import record_grades

LABEL = "I can't make this time"


def _release(s: Session) -> None:
    """End the test session's transaction: on SQLite its reads hold the write lock the site needs."""
    s.commit()


def _calendar(message) -> str | None:
    return next((p.get_content() for p in message.walk() if p.get_content_type() == "text/calendar"), None)


def _event(message):
    """Return the message's VEVENT, read by icalendar, after checking vobject reads it the same."""
    ics = _calendar(message)
    cal = Calendar.from_ical(ics)
    [event] = cal.walk("VEVENT")
    parsed = vobject.readOne(ics)
    assert parsed.method.value == str(cal["METHOD"]) == "REQUEST"
    assert (parsed.vevent.uid.value, int(parsed.vevent.sequence.value)) == (str(event["UID"]), int(event["SEQUENCE"]))
    assert parsed.vevent.dtstart.value.utcoffset() == timedelta(0)
    return event


def _to(smtp_server, email: str, phase: str) -> list:
    return [r.message for r in smtp_server.received if r.rcpt_tos == [email] and f".{phase}@" in r.message["Message-ID"]]


def _counts(s: Session) -> tuple:
    """What a replayed answer could change anywhere: links used, the outbox, the trail, the apologies."""
    found = (s.scalar(select(func.count()).select_from(Link).where(Link.used_at.is_not(None))),
             s.scalar(select(func.count()).select_from(OutboxMessage)),
             s.scalar(select(func.count()).select_from(Event)),
             s.scalar(select(func.count()).select_from(SessionApology)))
    _release(s)
    return found


def _submit(s: Session, settings, audit: Audit, overall: str) -> None:
    """Stand in for the real `submit`: a form with every domain graded as the overall grade."""
    ctx = context_at("2026-12-20T10:00", settings)
    submission = Submission(audit_id=audit.id, submitted_by_id=audit.auditor_id, overall=overall,
                            submitted_at=ctx.now, recorded_at=ctx.now)
    s.add(submission)
    s.flush()
    record_grades(s, audit=audit, submission=submission, grades=dict.fromkeys(settings.framework.domains, overall),
                  overall=overall, by=audit.auditor_id, reason="submission", now=ctx.now)
    audit.status = AuditStatus.SUBMITTED


def _december(s: Session, site: LiveSite, grades: list[str]) -> AuditCycle:
    draw(s, context_at("2026-11-23T09:00", site.settings), month=Month(2026, 12), size=len(grades), seed=21)
    s.commit()
    audits = list(s.scalars(select(Audit).order_by(Audit.id)))
    for audit, grade in zip(audits, grades, strict=True):
        _submit(s, site.settings, audit, grade)
    s.commit()
    return audits[0].cycle


# ---- The moderation panel ------------------------------------------------------------------------------------

PANEL_ASKED = "2027-01-05T10:00"


@pytest.fixture
def panel(s: Session, authority, site: LiveSite, smtp_server) -> AuditCycle:
    """December's audits submitted, chosen for moderation and the panel booked, with every invite received."""
    cycle = _december(s, site, ["good", "inadequate", "requires_improvement"])
    select_for_moderation(s, context_at("2027-01-04T09:00", site.settings), cycle=cycle)
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    assert cycle.moderation_uid and cycle.moderation_sequence == 0
    _release(s)
    site.at(PANEL_ASKED)
    return cycle


def _panel_invites(smtp_server) -> dict[str, list]:
    found: dict[str, list] = {}
    for r in smtp_server.received:
        if ".moderate@" in r.message["Message-ID"] and _calendar(r.message):
            found.setdefault(r.rcpt_tos[0], []).append(r.message)
    return found


def test_a_panel_member_who_cannot_make_the_panel_moves_it_by_the_panel_s_rules_for_everyone_invited(
        s: Session, authority, site: LiveSite, smtp_server, panel: AuditCycle, page: Page) -> None:
    invites = _panel_invites(smtp_server)
    psw = s.scalars(select(Staff).where(Staff.role == Role.PRINCIPAL_SOCIAL_WORKER, Staff.active)).first()
    attendees = sorted(invites)
    before, uid = panel.moderation_starts_at, panel.moderation_uid
    _release(s)
    assert psw.email in attendees and len(attendees) >= 3 and all(len(found) == 1 for found in invites.values())
    url = labelled_link(invites[psw.email][0], LABEL)
    other = next(e for e in attendees if e != psw.email)
    other_url = labelled_link(invites[other][0], LABEL)
    assert url != other_url
    screens: list[tuple[str, bytes]] = []

    replay = page.context.new_page()
    replay.goto(url)  # a second tab, left open on the form
    page.goto(url)
    shown = page.locator("main").inner_text()
    check_page(page, "panel-cant-make", screens)
    page.get_by_label("Why you cannot make it (optional)").fill("Chairing a child protection conference")
    page.get_by_role("button", name="Find another time").click()
    confirmation = page.locator("main").inner_text()
    check_page(page, "panel-cant-make-done", screens)

    assert "Ask for another time" in shown and "Audit moderation panel: December 2026" in shown
    assert "before the day moderation closes (Friday 15 January 2027)" in shown
    assert f"{panel.reference}-panel has moved to" in confirmation
    cycle = s.get(AuditCycle, panel.id, populate_existing=True)
    ctx = context_at(PANEL_ASKED, site.settings)
    assert cycle.moderation_sequence == 1 and cycle.moderation_starts_at != before
    assert panel_earliest_start(ctx, cycle) <= cycle.moderation_starts_at
    assert ctx.timescales.today(cycle.moderation_starts_at) <= closure_day(ctx, cycle)
    assert cycle.moderation_ends_at - cycle.moderation_starts_at == timedelta(
        minutes=site.settings.framework.moderation_meeting_minutes)
    assert s.scalar(select(Event.actor_id).where(Event.kind == "meeting-cant-make")) == psw.id
    starts = cycle.moderation_starts_at
    _release(s)

    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    updates = _panel_invites(smtp_server)
    assert sorted(updates) == attendees and all(len(found) == 1 for found in updates.values())
    assert len(smtp_server.received) == len(attendees)
    for [update] in updates.values():
        assert update["Subject"].startswith("Updated: Audit moderation panel: December 2026")
        assert f"{psw.name} cannot make" in body_text(update) and "child protection conference" in body_text(update)
        event = _event(update)
        assert (str(event["UID"]), int(event["SEQUENCE"])) == (uid, 1)
        assert event.decoded("DTSTART") == starts
        assert sorted(str(a).lower() for a in event["ATTENDEE"]) == sorted(f"mailto:{e}".lower() for e in attendees)
        assert labelled_link(update, LABEL) not in (url, other_url)

    before_replay = _counts(s)
    replay.get_by_role("button", name="Find another time").click()
    replayed = replay.locator("main").inner_text()
    page.goto(url)
    again = page.locator("main").inner_text()
    assert f"already done by {psw.name} at 10:00 on Tuesday 5 January 2027" in replayed
    assert f"already done by {psw.name} at 10:00 on Tuesday 5 January 2027" in again
    # Someone else's invite for the old time: refused, with the new time named.
    page.goto(other_url)
    assert "has moved since the invitation this link came in" in page.locator("main").inner_text()
    page.get_by_role("button", name="Find another time").click()
    assert "has moved since that invite" in page.locator(".govuk-error-summary").inner_text()
    assert _counts(s) == before_replay
    assert s.get(AuditCycle, panel.id, populate_existing=True).moderation_starts_at == starts
    _release(s)
    keep_screens(screens)


def test_with_no_time_free_before_moderation_closes_the_panel_stays_and_the_page_says_so(
        s: Session, authority, site: LiveSite, smtp_server, panel: AuditCycle, page: Page) -> None:
    psw = s.scalars(select(Staff).where(Staff.role == Role.PRINCIPAL_SOCIAL_WORKER, Staff.active)).first()
    ctx = context_at(PANEL_ASKED, site.settings)
    s.add(BusyPeriod(staff_id=psw.id, starts_at=ctx.now, ends_at=ctx.now + timedelta(days=30)))
    s.commit()
    before = (panel.moderation_starts_at, _counts(s))
    [invite] = _panel_invites(smtp_server)[psw.email]

    page.goto(labelled_link(invite, LABEL))
    page.get_by_role("button", name="Find another time").click()

    problem = page.locator(".govuk-error-summary").inner_text()
    assert "no other time is free" in problem and "moderation closes (Friday 15 January 2027)" in problem
    assert (s.get(AuditCycle, panel.id, populate_existing=True).moderation_starts_at, _counts(s)) == before


# ---- A Make a Difference interview ---------------------------------------------------------------------------

NOMINATED = "2027-01-29T16:30"  # a Friday afternoon: the interview falls next week
INTERVIEW_ASKED = "2027-01-29T17:00"


@pytest.fixture
def interview(s: Session, authority, site: LiveSite, smtp_server) -> MakeADifference:
    """A practitioner nominated by their manager and the interview booked, both invites received."""
    practitioner = s.scalars(select(Staff).where(Staff.role == Role.KEY_WORKER, Staff.active)
                             .order_by(Staff.id)).first()
    mad = nominate_interview(s, context_at(NOMINATED, site.settings), practitioner_id=practitioner.id,
                             by=practitioner.manager_id, note="Reunification after a long period of work.")
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    assert mad.status == "booked" and mad.interviewer_id
    _release(s)
    site.at(INTERVIEW_ASKED)
    return mad


def test_a_practitioner_who_cannot_make_the_interview_gets_the_next_hour_both_are_free(
        s: Session, authority, site: LiveSite, smtp_server, interview: MakeADifference, page: Page) -> None:
    practitioner, interviewer = s.get(Staff, interview.practitioner_id), s.get(Staff, interview.interviewer_id)
    before, uid = (interview.starts_at, interview.ends_at), interview.uid
    _release(s)
    [invite] = [m for m in _to(smtp_server, practitioner.email, "learn") if _calendar(m)]
    [theirs] = [m for m in _to(smtp_server, interviewer.email, "learn") if _calendar(m)]
    url, other_url = labelled_link(invite, LABEL), labelled_link(theirs, LABEL)
    screens: list[tuple[str, bytes]] = []

    replay = page.context.new_page()
    replay.goto(url)
    page.goto(url)
    shown = page.locator("main").inner_text()
    check_page(page, "interview-cant-make", screens)
    page.get_by_label("Why you cannot make it (optional)").fill("A home visit that cannot move")
    page.get_by_role("button", name="Find another time").click()
    confirmation = page.locator("main").inner_text()
    check_page(page, "interview-cant-make-done", screens)

    assert f"Make a Difference interview: {practitioner.name}" in shown and "suits you both" in shown
    assert f"{interview.reference} has moved to" in confirmation
    mad = s.get(MakeADifference, interview.id, populate_existing=True)
    ctx = context_at(INTERVIEW_ASKED, site.settings)
    assert mad.sequence == 1 and mad.status == "booked" and mad.interviewer_id == interviewer.id
    assert mad.starts_at >= before[1] or mad.ends_at <= before[0]  # clear of the time it left
    assert ctx.now < mad.starts_at and ctx.timescales.today(mad.starts_at) <= interview_last_day(ctx)
    assert mad.ends_at - mad.starts_at == before[1] - before[0]
    assert s.scalars(select(BusyPeriod).where(BusyPeriod.staff_id.in_([practitioner.id, interviewer.id]),
                                             BusyPeriod.starts_at < mad.ends_at,
                                             BusyPeriod.ends_at > mad.starts_at)).all() == []
    assert s.scalar(select(Event.actor_id).where(Event.kind == "meeting-cant-make")) == practitioner.id
    starts = mad.starts_at
    _release(s)

    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    assert len(smtp_server.received) == 2
    for person in (practitioner, interviewer):
        [update] = _to(smtp_server, person.email, "learn")
        assert update["Subject"].startswith(f"Updated: Make a Difference interview: {practitioner.name}")
        assert f"{practitioner.name} cannot make" in body_text(update) and "home visit" in body_text(update)
        event = _event(update)
        assert (str(event["UID"]), int(event["SEQUENCE"])) == (uid, 1)
        assert event.decoded("DTSTART") == starts
        assert labelled_link(update, LABEL) not in (url, other_url)

    before_replay = _counts(s)
    replay.get_by_role("button", name="Find another time").click()
    page.goto(url)
    assert f"already done by {practitioner.name}" in replay.locator("main").inner_text()
    assert f"already done by {practitioner.name}" in page.locator("main").inner_text()
    page.goto(other_url)
    page.get_by_role("button", name="Find another time").click()
    assert "has moved since that invite" in page.locator(".govuk-error-summary").inner_text()
    assert _counts(s) == before_replay
    assert s.get(MakeADifference, interview.id, populate_existing=True).starts_at == starts
    _release(s)
    keep_screens(screens)


# ---- The reflective learning session -------------------------------------------------------------------------

SESSION_ASKED = "2027-01-19T11:00"


@pytest.fixture
def learning_session(s: Session, authority, site: LiveSite, smtp_server) -> AuditCycle:
    """December's audits submitted, moderation closed and everyone involved invited to the learning session."""
    cycle = _december(s, site, ["requires_improvement"] * 3)
    select_for_moderation(s, context_at("2027-01-18T09:00", site.settings), cycle=cycle)
    s.commit()
    invite_learning_session(s, context_at("2027-01-18T09:00", site.settings), cycle=cycle)
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    assert cycle.learning_uid
    _release(s)
    site.at(SESSION_ASKED)
    return cycle


def test_one_person_who_cannot_come_to_the_learning_session_sends_apologies_and_the_session_stays(
        s: Session, authority, site: LiveSite, smtp_server, learning_session: AuditCycle, page: Page) -> None:
    cycle = learning_session
    invites = {r.rcpt_tos[0]: r.message for r in smtp_server.received if _calendar(r.message)}
    auditor = s.get(Staff, s.scalar(select(Audit.auditor_id).where(Audit.cycle_id == cycle.id).order_by(Audit.id)))
    qa_team = sorted(s.scalars(select(Staff.email).where(Staff.active, Staff.role.in_(QA_TEAM_ROLES))))
    before = (cycle.learning_starts_at, cycle.learning_ends_at)
    _release(s)
    url = labelled_link(invites[auditor.email], LABEL)
    screens: list[tuple[str, bytes]] = []

    replay = page.context.new_page()
    replay.goto(url)
    page.goto(url)
    shown = page.locator("main").inner_text()
    check_page(page, "learning-session-cant-make", screens)
    page.get_by_label("Why you cannot make it (optional)").fill("On annual leave that week")
    page.get_by_role("button", name="Send my apologies").click()
    confirmation = page.locator("main").inner_text()
    check_page(page, "learning-session-cant-make-done", screens)

    assert "Send your apologies" in shown and "does not move for one person" in shown
    assert "Your apologies are recorded and the Quality Assurance team has been told" in confirmation
    assert "stays at 13:30 on Friday 22 January 2027" in confirmation
    row = s.get(AuditCycle, cycle.id, populate_existing=True)
    assert (row.learning_starts_at, row.learning_ends_at) == before
    [apology] = s.scalars(select(SessionApology)).all()
    assert (apology.cycle_id, apology.staff_id, apology.reason) == (cycle.id, auditor.id, "On annual leave that week")
    assert s.scalar(select(Event.actor_id).where(Event.kind == "meeting-cant-make")) == auditor.id
    _release(s)

    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == qa_team  # once each; no invite moves
    for received in smtp_server.received:
        message = received.message
        assert _calendar(message) is None
        assert message["Subject"] == f"Apologies from {auditor.name}: Reflective learning session: December 2026 audits"
        assert "On annual leave that week" in body_text(message) and "1 of the" in body_text(message)

    before_replay = _counts(s)
    replay.get_by_role("button", name="Send my apologies").click()
    page.goto(url)
    assert f"already done by {auditor.name} at 11:00 on Tuesday 19 January 2027" in replay.locator("main").inner_text()
    assert f"already done by {auditor.name}" in page.locator("main").inner_text()
    assert _counts(s) == before_replay
    keep_screens(screens)


def test_apologies_for_the_learning_session_are_sent_by_keyboard_alone(
        s: Session, authority, site: LiveSite, smtp_server, learning_session: AuditCycle, page: Page) -> None:
    invites = {r.rcpt_tos[0]: r.message for r in smtp_server.received if _calendar(r.message)}
    auditor = s.get(Staff, s.scalar(select(Audit.auditor_id).where(Audit.cycle_id == learning_session.id)
                                    .order_by(Audit.id)))
    auditor_id, email = auditor.id, auditor.email
    _release(s)

    page.goto(labelled_link(invites[email], LABEL))
    tab_to(page, element_id="reason")
    page.keyboard.type("On a course that day")
    tab_to(page, text="Send my apologies")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert "Your apologies are recorded" in page.locator("main").inner_text()
    [apology] = s.scalars(select(SessionApology)).all()
    assert (apology.staff_id, apology.reason) == (auditor_id, "On a course that day")
    _release(s)
