"""Record an observation of practice done, from the observer's assignment or reminder to the page in Chromium."""

import pytest
from mail_links import body_text, labelled_link, link_row
from playwright.sync_api import Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.links.keys import serializer, signing_keys
from auditcycle.models import Event, Link, Observation, OutboxMessage, Staff
from auditcycle.models.enums import ObservationStatus, ObservationType, Role
from auditcycle.notifications.gateway import deliver
from auditcycle.observations.assignment import assign_observations, remind_observations

DEC = Month(2026, 12)
ASSIGNED = "2026-12-01T09:00"
REMINDED = "2026-12-22T09:00"  # five working days before Thursday 31 December
DONE = "2026-12-15T14:30"


def _release(s: Session) -> None:
    """End the test session's transaction: on SQLite its reads hold the write lock the site needs."""
    s.commit()


@pytest.fixture
def observation(s: Session, authority, site: LiveSite, smtp_server) -> Observation:
    """December's observations assigned and their digests delivered; the first observer's only observation."""
    assign_observations(s, build_context(ASSIGNED, settings=site.settings), month=DEC)
    s.commit()
    deliver(engine=authority, settings=site.settings)
    mine: dict[str, list[Observation]] = {}
    for o in s.scalars(select(Observation).order_by(Observation.id)):
        mine.setdefault(o.observer_id, []).append(o)
    first = next(found[0] for found in mine.values() if len(found) == 1)
    _release(s)
    return first


def _digest(smtp_server, email: str) -> list:
    return [r.message for r in smtp_server.received if r.rcpt_tos == [email]]


def _state(s: Session, observation: Observation) -> tuple:
    """Everything recording could change: the observation, the links, the outbox, the trail."""
    row = s.get(Observation, observation.id, populate_existing=True)
    return (row.status, row.kind, row.done_by_id, row.note,
            s.scalar(select(func.count()).select_from(Link).where(Link.used_at.is_not(None))),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
            s.scalar(select(func.count()).select_from(Event)), _release(s))


def test_the_observer_records_the_observation_from_the_assignment_email(
        s: Session, authority, site: LiveSite, smtp_server, observation: Observation, page: Page) -> None:
    observer = s.get(Staff, observation.observer_id)
    practitioner = s.get(Staff, observation.practitioner_id)
    ref, observer_name, shown_name = observation.reference, observer.name, practitioner.name
    _release(s)
    [digest] = _digest(smtp_server, observer.email)
    assert "auditcycle " not in body_text(digest)
    url = labelled_link(digest, f"record {ref} as done")
    screens: list[tuple[str, bytes]] = []
    site.at(DONE)
    before = _state(s, observation)

    page.goto(url)
    shown = page.locator("main").inner_text()
    check_page(page, "observation-done", screens)
    page.get_by_role("button", name="Record as done").click()
    errors = page.locator(".govuk-error-summary").inner_text()
    check_page(page, "observation-done-errors", screens)

    assert "Record the observation of practice" in shown and shown_name in shown and ref in shown
    assert "Select what you observed" in errors and page.title().startswith("Error: ")
    assert _state(s, observation) == before

    page.get_by_label("A home visit").check()
    page.get_by_label("What you saw, and any feedback given (optional)").fill("Warm, child-led <b>visit</b>.")
    page.get_by_role("button", name="Record as done").click()
    confirmation = page.locator("main").inner_text()
    check_page(page, "observation-done-confirmed", screens)

    assert f"Observation {ref} is recorded as done: a home visit." in confirmation
    row = s.get(Observation, observation.id, populate_existing=True)
    assert (row.status, row.kind, row.done_by_id, row.note) == (
        ObservationStatus.DONE, ObservationType.HOME_VISIT, observer.id, "Warm, child-led <b>visit</b>.")
    assert row.done_at == build_context(DONE).now
    _release(s)

    # Nothing follows a recorded observation by mail, and its reminders stop.
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    remind_observations(s, build_context(REMINDED, settings=site.settings), month=DEC)
    s.commit()
    deliver(engine=authority, settings=site.settings)
    assert _digest(smtp_server, observer.email) == []

    page.goto(url)
    again = page.locator("main").inner_text()
    assert f"already done by {observer_name} at 14:30 on Tuesday 15 December 2026" in again
    keep_screens(screens)


def test_the_observer_records_it_from_the_reminder_by_keyboard_alone(
        s: Session, authority, site: LiveSite, smtp_server, observation: Observation, page: Page) -> None:
    observer = s.get(Staff, observation.observer_id)
    ref = observation.reference
    smtp_server.received.clear()
    remind_observations(s, build_context(REMINDED, settings=site.settings), month=DEC)
    s.commit()
    deliver(engine=authority, settings=site.settings)
    _release(s)
    [reminder] = _digest(smtp_server, observer.email)
    assert "auditcycle " not in body_text(reminder)
    site.at("2026-12-22T11:00")

    page.goto(labelled_link(reminder, f"record {ref} as done"))
    page.keyboard.press("Tab")  # the skip link
    page.locator("#kind").focus()  # the first choice: a meeting with a family
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # the third: a supervision session
    page.keyboard.press("Tab")
    page.keyboard.type("Reflective supervision; case C1 discussed.")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert f"Observation {ref} is recorded as done: a supervision session." in page.locator("main").inner_text()
    row = s.get(Observation, observation.id, populate_existing=True)
    assert (row.kind, row.done_by_id, row.note) == (
        ObservationType.SUPERVISION, observer.id, "Reflective supervision; case C1 discussed.")
    _release(s)


def test_scanners_overlong_notes_other_records_and_a_reassigned_observer_change_nothing(
        s: Session, authority, site: LiveSite, smtp_server, observation: Observation, page: Page) -> None:
    observer = s.get(Staff, observation.observer_id)
    other = s.scalars(select(Observation).where(Observation.id != observation.id)).first()
    _release(s)
    [digest] = _digest(smtp_server, observer.email)
    url = labelled_link(digest, f"record {observation.reference} as done")
    site.at(DONE)
    before = _state(s, observation)

    page.goto(url)
    assert page.request.head(url).status == 200
    assert _state(s, observation) == before

    page.get_by_label("A home visit").check()
    page.get_by_label("What you saw, and any feedback given (optional)").fill("x" * 2001)
    page.get_by_role("button", name="Record as done").click()
    assert "2,000 characters or fewer" in page.locator(".govuk-error-message").inner_text()
    assert _state(s, observation) == before

    ctx = build_context(DONE, settings=site.settings)
    link = link_row(s, ctx, url)
    forged = serializer(signing_keys(s, ctx), "observe-done").dumps(
        {"p": "observe-done", "s": other.reference, "i": link.id})
    _release(s)
    response = page.goto(f"{site.url}/act/{forged}")
    assert response.status == 404 and "not one we sent" in page.locator("main").inner_text()
    assert _state(s, observation) == before

    # The QA team gives the observation to someone else after the email went.
    someone = s.scalars(select(Staff).where(Staff.role == Role.KEY_WORKER, Staff.active,
                                            Staff.id != observer.id)).first()
    s.get(Observation, observation.id).observer_id = someone.id
    s.commit()
    before = _state(s, observation)
    page.goto(url)
    page.get_by_label("A home visit").check()
    page.get_by_role("button", name="Record as done").click()
    assert "may not observe-done" in page.locator(".govuk-error-summary").inner_text()
    assert _state(s, observation) == before
