"""Action done and sign-off, from the received email to the page in Chromium and back to the database and mail."""
from datetime import date

import pytest
from factories import open_action
from mail_links import body_text, labelled_link, link_urls
from playwright.sync_api import Browser, Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens

from auditcycle.actions.ladder import escalate
from auditcycle.core.context import build_context
from auditcycle.models import Action, Event, Link, OutboxMessage, Staff
from auditcycle.models.enums import ActionStatus, Role
from auditcycle.notifications.gateway import deliver

DUE = date(2026, 12, 15)
REMINDER_DAY = "2026-12-11T09:00"


@pytest.fixture
def action(s: Session, authority, site: LiveSite, smtp_server) -> Action:
    """An open action, due 15 December, whose owner and team manager have been mailed the reminder."""
    made = open_action(s, authority, site.settings, due=DUE, description="Update Z.'s chronology")
    escalate(s, build_context(REMINDER_DAY, settings=site.settings))
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    _release(s)
    return made


def _release(s: Session) -> None:
    """End the test session's transaction: on SQLite its reads hold the write lock the site needs.

    A commit, not a rollback: this session keeps what it loaded, so reading it later starts no transaction.
    """
    s.commit()


def _mail_to(smtp_server, email: str) -> list:
    return [r.message for r in smtp_server.received if r.rcpt_tos == [email]]


def _state(s: Session, action: Action) -> tuple:
    """Everything a decision could change: the action, the links, the outbox, the trail."""
    row = s.get(Action, action.id, populate_existing=True)
    return (row.status, row.completed_by_id, row.signed_off_by_id, row.due_date,
            s.scalar(select(func.count()).select_from(Link).where(Link.used_at.is_not(None))),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
            s.scalar(select(func.count()).select_from(Event)), _release(s))


def test_the_owner_records_done_and_the_line_manager_signs_off_from_their_emails(
        s: Session, authority, site: LiveSite, smtp_server, action: Action, page: Page) -> None:
    owner, manager = action.owner, action.owner.manager
    child = (action.audit.child_id, action.audit.child.first_name, action.audit.child.last_name)
    _release(s)
    [reminder] = _mail_to(smtp_server, owner.email)
    done_url = labelled_link(reminder, "Record it as done")
    screens: list[tuple[str, bytes]] = []
    site.at("2026-12-14T10:00")

    page.goto(done_url)
    shown = page.locator("main").inner_text()
    check_page(page, "action-done", screens)
    page.get_by_label("What was done (optional)").fill("Chronology brought up to date <script>alert(1)</script>")
    page.get_by_role("button", name="Record as done").click()
    confirmation = page.locator("main").inner_text()

    assert "Record the action as done" in shown and child[0] in shown
    assert child[1] not in shown and child[2] not in shown
    assert f"Action {action.reference} is recorded as done" in confirmation
    row = s.get(Action, action.id, populate_existing=True)
    assert (row.status, row.completed_by_id) == (ActionStatus.DONE, owner.id)
    _release(s)

    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    [ask] = _mail_to(smtp_server, manager.email)
    assert len(smtp_server.received) == 1 and "auditcycle " not in body_text(ask)
    assert "<script>alert(1)</script>" in body_text(ask)
    assert "&lt;script&gt;" in ask.get_body(("html",)).get_content()

    page.goto(labelled_link(ask, "Sign off the action"))
    page.get_by_role("button", name="Confirm").click()
    errors = page.locator(".govuk-error-summary").inner_text()
    assert "Select whether the quality is met" in errors and "Enter how you judged" in errors
    assert page.title().startswith("Error: ")
    check_page(page, "action-sign-off-errors", screens)
    assert s.get(Action, action.id, populate_existing=True).status == ActionStatus.DONE
    _release(s)
    page.get_by_label("Yes, the quality is met: sign it off").check()
    page.get_by_label("How you judged it").fill("Chronology checked against the case record.")
    page.get_by_role("button", name="Confirm").click()
    assert f"Action {action.reference} is signed off." in page.locator("main").inner_text()
    check_page(page, "action-sign-off-done", screens)
    row = s.get(Action, action.id, populate_existing=True)
    assert (row.status, row.signed_off_by_id) == (ActionStatus.SIGNED_OFF, manager.id)
    _release(s)

    page.goto(done_url)
    again = page.locator("main").inner_text()
    assert "Already done" in again and f"already done by {owner.name} at 10:00 on Monday 14 December 2026" in again
    keep_screens(screens)


def test_sign_off_by_keyboard_alone_reopens_the_action_with_a_new_due_date(
        s: Session, authority, site: LiveSite, smtp_server, action: Action, page: Page) -> None:
    owner, manager = action.owner, action.owner.manager
    _release(s)
    [reminder] = _mail_to(smtp_server, owner.email)
    site.at("2026-12-14T10:00")
    page.goto(labelled_link(reminder, "Record it as done"))
    page.keyboard.press("Tab")  # the skip link
    page.locator("#note").focus()
    page.keyboard.type("Done.")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "recorded as done" in page.locator("main").inner_text()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    [ask] = _mail_to(smtp_server, manager.email)

    page.goto(labelled_link(ask, "Sign off the action"))
    page.locator("#quality").focus()  # the first radio
    page.keyboard.press("ArrowDown")  # the second: not met
    page.keyboard.press("Tab")
    page.keyboard.type("The school move is still missing.")
    for part, value in (("day", "23"), ("month", "12"), ("year", "2026")):
        page.keyboard.press("Tab")
        page.keyboard.type(value)
        assert page.evaluate("document.activeElement.id") == f"due-{part}"
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert "reopened, now due on Wednesday 23 December 2026" in page.locator("main").inner_text()
    row = s.get(Action, action.id, populate_existing=True)
    _release(s)
    assert (row.status, row.due_date, row.reopen_count) == (ActionStatus.OPEN, date(2026, 12, 23), 1)
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    [told] = _mail_to(smtp_server, owner.email)
    assert "reopened" in told["Subject"].lower() or "reopened" in body_text(told)


def test_a_due_date_against_the_rules_is_shown_beside_the_field_and_nothing_changes(
        s: Session, authority, site: LiveSite, smtp_server, action: Action, page: Page) -> None:
    owner, manager = action.owner, action.owner.manager
    _release(s)
    [reminder] = _mail_to(smtp_server, owner.email)
    site.at("2026-12-14T10:00")
    page.goto(labelled_link(reminder, "Record it as done"))
    page.get_by_role("button", name="Record as done").click()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    [ask] = _mail_to(smtp_server, manager.email)
    before = _state(s, action)

    page.goto(labelled_link(ask, "Sign off the action"))
    page.get_by_label("No, the quality is not met: reopen it").check()
    page.get_by_label("How you judged it").fill("Missing the school move.")
    page.get_by_label("Day").fill("26")
    page.get_by_label("Month").fill("12")
    page.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Confirm").click()

    assert "The new due date" in page.locator(".govuk-error-summary").inner_text()
    assert "The new due date" in page.locator(".govuk-error-message").inner_text()
    assert page.get_by_label("How you judged it").input_value() == "Missing the school move."
    assert _state(s, action) == before


def test_two_tabs_submitting_at_once_record_one_decision(
        s: Session, authority, site: LiveSite, smtp_server, action: Action, browser: Browser) -> None:
    owner, manager = action.owner, action.owner.manager
    _release(s)
    [reminder] = _mail_to(smtp_server, owner.email)
    url = labelled_link(reminder, "Record it as done")
    site.at("2026-12-14T10:00")
    context = browser.new_context()
    tabs = [context.new_page(), context.new_page()]
    for tab in tabs:
        tab.goto(url)
    # Playwright's sync pages belong to one thread: submit both forms by script-free clicks, interleaved.
    for tab in tabs:
        tab.get_by_label("What was done (optional)").fill("Done twice?")
    with tabs[0].expect_navigation(), tabs[1].expect_navigation():
        tabs[0].get_by_role("button", name="Record as done").click(no_wait_after=True)
        tabs[1].get_by_role("button", name="Record as done").click(no_wait_after=True)
    texts = [tab.locator("main").inner_text() for tab in tabs]
    context.close()

    assert sum("is recorded as done" in t for t in texts) == 1
    assert sum("already done by" in t for t in texts) == 1
    assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "action-done")) == 1
    _release(s)
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    assert len(_mail_to(smtp_server, manager.email)) == 1


def test_a_link_holder_who_has_since_lost_the_role_is_refused_and_nothing_changes(
        s: Session, authority, site: LiveSite, smtp_server, action: Action, page: Page) -> None:
    manager = action.owner.manager
    _release(s)
    [reminder] = _mail_to(smtp_server, manager.email)
    url = labelled_link(reminder, "Record it as done")
    # The owner moves to another line manager after the reminder went.
    other = s.scalars(select(Staff).where(Staff.role == Role.TEAM_MANAGER, Staff.id != manager.id,
                                          Staff.active)).first()
    s.get(Action, action.id).owner.manager_id = other.id
    s.commit()
    _release(s)
    before = _state(s, action)
    site.at("2026-12-14T10:00")

    page.goto(url)
    page.get_by_role("button", name="Record as done").click()

    assert "may not action-done" in page.locator(".govuk-error-summary").inner_text()
    assert _state(s, action) == before
    assert link_urls(reminder) == [url]
