"""Respond to an Immediate Response, from the received alert to the page in Chromium and back to the database and mail."""

import pytest
from mail_links import body_text, labelled_link, link_urls
from playwright.sync_api import Browser, Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.immediate_responses.lifecycle import RESPOND, check_responses, raise_ir
from auditcycle.links.keys import serializer, signing_keys
from auditcycle.models import Audit, Event, ImmediateResponse, Link, OutboxMessage, Staff
from auditcycle.models.enums import ResponseStatus, Role
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw

RAISED = "2026-12-09T15:10"
BUTTON = "Respond to the Immediate Response"


@pytest.fixture
def ir(s: Session, authority, site: LiveSite, smtp_server) -> ImmediateResponse:
    """An Immediate Response raised by the auditor on a December audit; its alert has reached the service manager."""
    draw(s, build_context("2026-11-23T09:00", settings=site.settings), month=Month(2026, 12), size=2, seed=2)
    s.commit()
    deliver(engine=authority, settings=site.settings)
    audit = s.scalars(select(Audit).order_by(Audit.id)).first()
    raised = raise_ir(s, build_context(RAISED, settings=site.settings), reference=audit.reference,
                      by=audit.auditor_id, reason="Z. was left alone overnight <b>twice</b>")
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    _release(s)
    return raised


def _release(s: Session) -> None:
    """End the test session's transaction (a commit: on SQLite its reads hold the write lock the site needs)."""
    s.commit()


def _mail_to(smtp_server, email: str) -> list:
    return [r.message for r in smtp_server.received if r.rcpt_tos == [email]]


def _service_manager(s: Session, ir: ImmediateResponse) -> Staff:
    [manager] = s.scalars(select(Staff).where(Staff.role == Role.SERVICE_MANAGER,
                                              Staff.service_id == ir.audit.child.team.service_id, Staff.active))
    return manager


def _state(s: Session, ir: ImmediateResponse) -> tuple:
    """Everything an answer could change: the response, the links, the outbox, the trail."""
    row = s.get(ImmediateResponse, ir.id, populate_existing=True)
    return (row.status, row.responded_by_id, row.response,
            s.scalar(select(func.count()).select_from(Link).where(Link.used_at.is_not(None))),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
            s.scalar(select(func.count()).select_from(Event)), _release(s))


def test_the_service_manager_responds_from_the_alert_and_the_raiser_and_qa_are_told_once(
        s: Session, authority, site: LiveSite, smtp_server, ir: ImmediateResponse, page: Page) -> None:
    manager = _service_manager(s, ir)
    manager_id, manager_name, auditor_email = manager.id, manager.name, ir.raised_by.email
    child = (ir.audit.child_id, ir.audit.child.first_name, ir.audit.child.last_name)
    qa = [m.email for m in s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER, Staff.active))]
    _release(s)
    [alert] = _mail_to(smtp_server, manager.email)
    assert "auditcycle " not in body_text(alert) and "--by" not in body_text(alert)
    url = labelled_link(alert, BUTTON)
    screens: list[tuple[str, bytes]] = []
    site.at("2026-12-10T09:30")

    page.goto(url)
    shown = page.locator("main").inner_text()
    check_page(page, "ir-respond", screens)
    page.get_by_label("What has been done").fill("Visited the same evening; safety plan agreed <script>x()</script>")
    page.get_by_role("button", name="Send the response").click()
    confirmation = page.locator("main").inner_text()
    check_page(page, "ir-respond-done", screens)

    assert "Respond to the Immediate Response" in shown and ir.reference in shown and child[0] in shown
    assert child[1] not in shown and child[2] not in shown and "<strong>" not in shown
    assert "left alone overnight <b>twice</b>" in shown  # the auditor's text, escaped, not markup
    assert "15:10 on Thursday 10 December 2026" in shown  # the deadline: 24 hours after it was raised
    assert f"Your response to Immediate Response {ir.reference} is recorded." in confirmation
    row = s.get(ImmediateResponse, ir.id, populate_existing=True)
    assert (row.status, row.responded_by_id, row.same_day) == (ResponseStatus.RESPONDED, manager_id, False)
    assert row.response.startswith("Visited the same evening")
    _release(s)

    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    told = sorted(r.rcpt_tos[0] for r in smtp_server.received)
    assert told == sorted([auditor_email, *qa])
    [answered] = _mail_to(smtp_server, auditor_email)
    assert f"answered by {manager_name}" in body_text(answered) and link_urls(answered) == []
    assert "<script>x()</script>" in body_text(answered)
    assert "&lt;script&gt;" in answered.get_body(("html",)).get_content()

    page.goto(url)
    again = page.locator("main").inner_text()
    assert f"already done by {manager_name} at 09:30 on Thursday 10 December 2026" in again
    keep_screens(screens)


def test_an_empty_response_is_listed_and_nothing_is_stored(
        s: Session, authority, site: LiveSite, smtp_server, ir: ImmediateResponse, page: Page) -> None:
    manager = _service_manager(s, ir)
    _release(s)
    [alert] = _mail_to(smtp_server, manager.email)
    before = _state(s, ir)
    site.at("2026-12-10T09:30")
    screens: list[tuple[str, bytes]] = []

    page.goto(labelled_link(alert, BUTTON))
    page.get_by_label("What has been done").fill("   ")
    page.get_by_role("button", name="Send the response").click()

    assert "Enter what has been done in response" in page.locator(".govuk-error-summary").inner_text()
    assert "Enter what has been done in response" in page.locator(".govuk-error-message").inner_text()
    assert page.title().startswith("Error: ")
    check_page(page, "ir-respond-errors", screens)
    page.get_by_label("What has been done").fill("x" * 4001)
    page.get_by_role("button", name="Send the response").click()
    assert "at most 4000 characters" in page.locator(".govuk-error-summary").inner_text()
    assert _state(s, ir) == before
    keep_screens(screens)


def test_the_assistant_director_answers_the_escalation_by_keyboard_and_the_service_managers_link_then_refuses(
        s: Session, authority, site: LiveSite, smtp_server, ir: ImmediateResponse, page: Page) -> None:
    manager = _service_manager(s, ir)
    director = s.scalars(select(Staff).where(Staff.role == Role.ASSISTANT_DIRECTOR, Staff.active)
                         .order_by(Staff.id)).first()
    director_id, director_name, director_email = director.id, director.name, director.email
    _release(s)
    [alert] = _mail_to(smtp_server, manager.email)
    manager_url = labelled_link(alert, BUTTON)
    check_responses(s, build_context("2026-12-10T15:30", settings=site.settings))
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    _release(s)
    [escalation] = _mail_to(smtp_server, director_email)
    assert "ESCALATED" in escalation["Subject"] and "auditcycle " not in body_text(escalation)
    site.at("2026-12-10T16:00")

    page.goto(labelled_link(escalation, BUTTON))
    assert "escalated to the assistant director at 15:30 on Thursday 10 December 2026" in \
        page.locator("main").inner_text()
    page.locator("#note").focus()
    page.keyboard.type("Spoke to the service manager; the child is with grandparents tonight.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Send the response"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"Your response to Immediate Response {ir.reference} is recorded." in page.locator("main").inner_text()
    row = s.get(ImmediateResponse, ir.id, populate_existing=True)
    assert (row.status, row.responded_by_id) == (ResponseStatus.RESPONDED, director_id)
    _release(s)

    # The service manager's own link is still theirs to open, but the response is already made.
    before = _state(s, ir)
    page.goto(manager_url)
    assert f"already answered by {director_name} at 16:00" in page.locator("main").inner_text()
    page.get_by_label("What has been done").fill("Also visited.")
    page.get_by_role("button", name="Send the response").click()
    assert "was already answered" in page.locator(".govuk-error-summary").inner_text()
    assert _state(s, ir) == before


def test_a_scanners_get_and_head_a_replayed_post_and_a_link_turned_to_another_response_change_nothing(
        s: Session, authority, site: LiveSite, smtp_server, ir: ImmediateResponse, page: Page) -> None:
    manager = _service_manager(s, ir)
    manager_name = manager.name
    _release(s)
    [alert] = _mail_to(smtp_server, manager.email)
    url = labelled_link(alert, BUTTON)
    before = _state(s, ir)
    site.at("2026-12-10T09:30")

    assert page.request.head(url).status == 200 and page.request.get(url).status == 200
    page.goto(url)
    assert _state(s, ir) == before

    # Signed with the council's own key, the link's id named with another response: refused, as a forgery.
    row = s.scalar(select(Link).where(Link.purpose == RESPOND, Link.staff_id == manager.id))
    keys = signing_keys(s, build_context("2026-12-10T09:30", settings=site.settings))
    forged = serializer(keys, RESPOND).dumps({"p": RESPOND, "s": f"{ir.reference[:-1]}9", "i": row.id})
    _release(s)
    refused = page.request.get(f"{site.url}/act/{forged}")
    assert refused.status == 404 and "Send the response" not in refused.text()
    assert _state(s, ir) == before

    page.goto(url)
    csrf = page.locator("input[name=csrf_token]").input_value()
    page.get_by_label("What has been done").fill("Visited.")
    page.get_by_role("button", name="Send the response").click()
    assert "is recorded" in page.locator("main").inner_text()
    after = _state(s, ir)
    replayed = page.request.post(url, form={"csrf_token": csrf, "note": "Visited again."})
    assert f"already done by {manager_name}" in replayed.text()
    assert _state(s, ir) == after


def test_two_tabs_responding_at_once_record_one_response_and_tell_the_raiser_once(
        s: Session, authority, site: LiveSite, smtp_server, ir: ImmediateResponse, browser: Browser) -> None:
    manager = _service_manager(s, ir)
    auditor_email = ir.raised_by.email
    _release(s)
    [alert] = _mail_to(smtp_server, manager.email)
    url = labelled_link(alert, BUTTON)
    site.at("2026-12-10T09:30")
    context = browser.new_context()
    tabs = [context.new_page(), context.new_page()]
    for tab in tabs:
        tab.goto(url)
        tab.get_by_label("What has been done").fill("Visited.")
    with tabs[0].expect_navigation(), tabs[1].expect_navigation():
        tabs[0].get_by_role("button", name="Send the response").click(no_wait_after=True)
        tabs[1].get_by_role("button", name="Send the response").click(no_wait_after=True)
    texts = [tab.locator("main").inner_text() for tab in tabs]
    context.close()

    assert sum("is recorded" in t for t in texts) == 1
    # The other tab is told it was done, or, on PostgreSQL when both wrote at once, that its copy was not saved.
    assert sum("already done by" in t or "at the same moment" in t
               for t in texts) == 1
    assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "responded")) == 1
    _release(s)
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    assert len(_mail_to(smtp_server, auditor_email)) == 1
