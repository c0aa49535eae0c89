"""Dispute a grade and supervision discussed, from the received outcome mail to the page in Chromium and back."""
from datetime import date

import pytest
from forms import valid_form
from mail_links import body_text, labelled_link, link_urls
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.models import Audit, Dispute, Event, Link, OutboxMessage, Staff
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw, monthly_cycle
from auditcycle.submissions.submit import submit

DISPUTE = "Dispute the grade"


@pytest.fixture
def audit(s: Session, authority, site: LiveSite, smtp_server) -> Audit:
    """A December audit submitted on 1 December, graded requires improvement; its outcome mail has been received."""
    december = Month(2026, 12)
    draw(s, build_context("2026-11-23T09:00", settings=site.settings), month=december, size=1, seed=21)
    s.commit()
    queue_notices(s, build_context("2026-11-24T12:00", settings=site.settings), cycle=monthly_cycle(s, december))
    s.commit()
    deliver(engine=authority, settings=site.settings)
    [made] = s.scalars(select(Audit))
    submit(s, build_context("2026-12-01T10:00", settings=site.settings), reference=made.reference,
           data=valid_form(made.child.key_worker_id, today=date(2026, 12, 1)), by=made.auditor_id)
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    _release(s)
    return made


def _release(s: Session) -> None:
    """End the test session's transaction (a commit: on SQLite its reads hold the write lock the site needs)."""
    s.commit()


def _mail_to(smtp_server, email: str, subject: str = "") -> list:
    return [r.message for r in smtp_server.received if r.rcpt_tos == [email] and subject in r.message["Subject"]]


def _state(s: Session, audit: Audit) -> tuple:
    """Everything a decision could change: the audit, the disputes, the links, the outbox, the trail."""
    row = s.get(Audit, audit.id, populate_existing=True)
    return (row.status, row.supervision_discussed_at, s.scalar(select(func.count()).select_from(Dispute)),
            s.scalar(select(func.count()).select_from(Link).where(Link.used_at.is_not(None))),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
            s.scalar(select(func.count()).select_from(Event)), _release(s))


def _team_manager(s: Session, audit: Audit) -> Staff:
    return audit.child.key_worker.manager


def test_the_key_worker_disputes_the_grade_from_the_outcome_and_the_conversation_is_booked_once(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    worker, manager, auditor = audit.child.key_worker, _team_manager(s, audit), audit.auditor
    worker_id, worker_name = worker.id, worker.name
    emails = (worker.email, manager.email, auditor.email)
    child = (audit.child_id, audit.child.first_name, audit.child.last_name)
    iro = audit.child.iro
    _release(s)
    [outcome] = _mail_to(smtp_server, emails[0], "Audit outcome")
    assert "auditcycle " not in body_text(outcome) and "--by" not in body_text(outcome)
    url = labelled_link(outcome, DISPUTE)
    if iro is not None:
        [told] = _mail_to(smtp_server, iro.email, "Audit outcome")
        assert link_urls(told) == [] and "Grades may change at moderation." in body_text(told)
    screens: list[tuple[str, bytes]] = []
    site.at("2026-12-03T11:00")

    page.goto(url)
    shown = page.locator("main").inner_text()
    check_page(page, "dispute", screens)
    page.get_by_label("Why you disagree with the grade").fill("The chronology was up to date <i>at the time</i>.")
    page.get_by_role("button", name=DISPUTE).click()
    confirmation = page.locator("main").inner_text()
    check_page(page, "dispute-done", screens)

    assert "Dispute the grade" in shown and audit.reference in shown and child[0] in shown
    assert child[1] not in shown and child[2] not in shown and "<strong>" not in shown
    assert "Overall grade\tRequires improvement to be good" in shown
    assert f"Your disagreement with the grade of audit {audit.reference} is recorded." in confirmation
    [row] = s.scalars(select(Dispute))
    assert (row.raised_by_id, row.note) == (worker_id, "The chronology was up to date <i>at the time</i>.")
    _release(s)

    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    invites = [r.rcpt_tos[0] for r in smtp_server.received]
    assert sorted(invites) == sorted([emails[1], emails[2]])
    assert all(r.message["Subject"].startswith("Team manager conversation") for r in smtp_server.received)

    page.goto(url)
    assert f"already done by {worker_name} at 11:00 on Thursday 3 December 2026" in page.locator("main").inner_text()
    keep_screens(screens)


def test_an_empty_or_overlong_reason_is_listed_and_nothing_is_stored(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    manager = _team_manager(s, audit)
    _release(s)
    [outcome] = _mail_to(smtp_server, manager.email, "Audit outcome")
    before = _state(s, audit)
    site.at("2026-12-03T11:00")
    screens: list[tuple[str, bytes]] = []

    page.goto(labelled_link(outcome, DISPUTE))
    page.get_by_role("button", name=DISPUTE).click()
    assert "Enter why you disagree with the grade" in page.locator(".govuk-error-summary").inner_text()
    assert page.title().startswith("Error: ")
    check_page(page, "dispute-errors", screens)
    page.get_by_label("Why you disagree with the grade").fill("y" * 4001)
    page.get_by_role("button", name=DISPUTE).click()
    assert "at most 4000 characters" in page.locator(".govuk-error-message").inner_text()
    assert _state(s, audit) == before
    keep_screens(screens)


def test_a_dispute_after_moderation_closed_is_refused_with_the_domains_words_and_a_replay_changes_nothing(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    worker = audit.child.key_worker
    worker_name = worker.name
    _release(s)
    [outcome] = _mail_to(smtp_server, worker.email, "Audit outcome")
    url = labelled_link(outcome, DISPUTE)
    site.at("2026-12-03T11:00")
    assert page.request.head(url).status == 200 and page.request.get(url).status == 200
    page.goto(url)
    csrf = page.locator("input[name=csrf_token]").input_value()
    page.get_by_label("Why you disagree with the grade").fill("Too harsh.")
    page.get_by_role("button", name=DISPUTE).click()
    assert "is recorded" in page.locator("main").inner_text()
    after = _state(s, audit)
    replayed = page.request.post(url, form={"csrf_token": csrf, "note": "Still too harsh."})
    assert f"already done by {worker_name}" in replayed.text()
    assert _state(s, audit) == after

    # The team manager's link, opened once the cycle's moderation has closed: the domain refuses it.
    manager = _team_manager(s, audit)
    [theirs] = _mail_to(smtp_server, manager.email, "Audit outcome")
    s.get(Audit, audit.id).cycle.moderation_closed_at = build_context("2026-12-20T09:00").now
    s.commit()
    before = _state(s, audit)
    page.goto(labelled_link(theirs, DISPUTE))
    page.get_by_label("Why you disagree with the grade").fill("Too harsh.")
    page.get_by_role("button", name=DISPUTE).click()
    assert "has closed" in page.locator(".govuk-error-summary").inner_text()
    assert _state(s, audit) == before


RECORD = "Record the supervision discussion"


def test_the_team_manager_records_the_supervision_discussion_from_the_prompt_with_one_button(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    manager = _team_manager(s, audit)
    manager_id, manager_name, worker_name = manager.id, manager.name, audit.child.key_worker.name
    child = (audit.child_id, audit.child.first_name, audit.child.last_name)
    _release(s)
    [prompt] = _mail_to(smtp_server, manager.email, "next supervision")
    assert "auditcycle " not in body_text(prompt) and "--by" not in body_text(prompt)
    url = labelled_link(prompt, RECORD)
    screens: list[tuple[str, bytes]] = []
    site.at("2026-12-10T14:00")
    assert page.request.head(url).status == 200
    before = _state(s, audit)

    page.goto(url)
    shown = page.locator("main").inner_text()
    assert _state(s, audit) == before
    check_page(page, "supervision-discussed", screens)
    page.get_by_role("button", name="Confirm the discussion").click()
    confirmation = page.locator("main").inner_text()
    check_page(page, "supervision-discussed-done", screens)

    assert RECORD in shown and f"with {worker_name} at their supervision" in shown and child[0] in shown
    assert child[1] not in shown and child[2] not in shown
    assert f"The supervision discussion of audit {audit.reference} is recorded." in confirmation
    row = s.get(Audit, audit.id, populate_existing=True)
    assert (row.supervision_discussed_by_id, row.supervision_discussed_at.isoformat()) == (
        manager_id, "2026-12-10T14:00:00+00:00")
    assert s.scalar(select(Event.detail).where(Event.kind == "supervision-discussed")) == ""
    _release(s)
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    assert smtp_server.received == []  # nothing follows a discussion but the trail

    page.goto(url)
    assert f"already done by {manager_name} at 14:00 on Thursday 10 December 2026" in page.locator("main").inner_text()
    keep_screens(screens)


def test_a_note_by_keyboard_alone_goes_to_the_trail_and_an_overlong_one_is_listed_first(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    manager = _team_manager(s, audit)
    _release(s)
    [prompt] = _mail_to(smtp_server, manager.email, "next supervision")
    site.at("2026-12-10T14:00")
    before = _state(s, audit)

    page.goto(labelled_link(prompt, RECORD))
    page.get_by_label("What was agreed (optional)").fill("z" * 4001)
    page.get_by_role("button", name="Confirm the discussion").click()
    assert "at most 4000 characters" in page.locator(".govuk-error-summary").inner_text()
    assert _state(s, audit) == before

    # GOV.UK Frontend moves focus to the error summary once its script has run: wait for that, or it may
    # take focus back after ours and the Tab below would start from the summary.
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    page.locator("#note").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("Agreed to visit <em>weekly</em>.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Confirm the discussion"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "is recorded" in page.locator("main").inner_text()
    assert s.scalar(select(Event.detail).where(Event.kind == "supervision-discussed")) == \
        "Agreed to visit <em>weekly</em>."
    _release(s)


def test_a_discussion_already_recorded_another_way_is_refused_and_a_replay_changes_nothing(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    from auditcycle.submissions.supervision import record_supervision_discussed

    manager = _team_manager(s, audit)
    manager_id, manager_name = manager.id, manager.name
    _release(s)
    [prompt] = _mail_to(smtp_server, manager.email, "next supervision")
    url = labelled_link(prompt, RECORD)
    site.at("2026-12-10T14:00")
    page.goto(url)
    csrf = page.locator("input[name=csrf_token]").input_value()

    # Recorded by the administrators' command meanwhile: the page's POST meets the domain's refusal.
    record_supervision_discussed(s, build_context("2026-12-10T13:00", settings=site.settings),
                                 reference=audit.reference, by=manager_id)
    s.commit()
    before = _state(s, audit)
    page.get_by_role("button", name="Confirm the discussion").click()
    assert "already recorded" in page.locator(".govuk-error-summary").inner_text()
    assert _state(s, audit) == before

    # A replay of a POST that did go through: the second says who did it and changes nothing.
    s.get(Audit, audit.id).supervision_discussed_at = None
    s.get(Audit, audit.id).supervision_discussed_by_id = None
    s.commit()
    page.goto(url)
    page.get_by_role("button", name="Confirm the discussion").click()
    assert "is recorded" in page.locator("main").inner_text()
    after = _state(s, audit)
    replayed = page.request.post(url, form={"csrf_token": csrf, "note": ""})
    assert f"already done by {manager_name}" in replayed.text()
    assert _state(s, audit) == after
