"""Nominate the key worker for a Make a Difference interview, from the supervision prompt to the page in Chromium."""
from collections import Counter
from datetime import date

import pytest
from forms import valid_form
from mail_links import body_text, labelled_link, link_row
from playwright.sync_api import Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens, tab_to

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.learning.culture import nominate_from_audit
from auditcycle.models import Audit, Event, Link, MakeADifference, OutboxMessage, Staff
from auditcycle.models.enums import Role
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw, monthly_cycle
from auditcycle.submissions.submit import MAD_NOMINATE, submit

NOMINATED = "2026-12-10T14:00"
BUTTON = "Nominate for an interview"
NOTE = "What good outcome did you notice?"
GOOD = "C1 is home with mum after a year of <em>patient</em> work on the safety plan."


@pytest.fixture
def audit(s: Session, authority, site: LiveSite, smtp_server) -> Audit:
    """A December audit submitted on 1 December, graded good; its supervision prompt has been received."""
    december = Month(2026, 12)
    draw(s, build_context("2026-11-23T09:00", settings=site.settings), month=december, size=1, seed=21)
    s.commit()
    queue_notices(s, build_context("2026-11-24T12:00", settings=site.settings), cycle=monthly_cycle(s, december))
    s.commit()
    deliver(engine=authority, settings=site.settings)
    [made] = s.scalars(select(Audit))
    submit(s, build_context("2026-12-01T10:00", settings=site.settings), reference=made.reference,
           data=valid_form(made.child.key_worker_id, today=date(2026, 12, 1), overall="good"), by=made.auditor_id)
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    _release(s)
    return made


def _release(s: Session) -> None:
    """End the test session's transaction (a commit: on SQLite its reads hold the write lock the site needs)."""
    s.commit()


def _prompt(s: Session, smtp_server, manager: Staff):
    email = manager.email
    _release(s)
    [prompt] = [r.message for r in smtp_server.received
                if r.rcpt_tos == [email] and "next supervision" in r.message["Subject"]]
    return prompt


def _state(s: Session) -> tuple:
    """Everything nominating could change: the interviews, the links, the outbox, the trail."""
    return (s.scalar(select(func.count()).select_from(MakeADifference)),
            s.scalar(select(func.count()).select_from(Link).where(Link.used_at.is_not(None))),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
            s.scalar(select(func.count()).select_from(Event)), _release(s))


def test_the_team_manager_nominates_the_key_worker_from_the_supervision_prompt(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    worker = s.get(Staff, audit.key_worker_id)
    manager = worker.manager
    worker_id, worker_name, worker_email = worker.id, worker.name, worker.email
    manager_id, manager_name, manager_email = manager.id, manager.name, manager.email
    child = (audit.child_id, audit.child.first_name, audit.child.last_name)
    prompt = _prompt(s, smtp_server, manager)
    assert "auditcycle " not in body_text(prompt) and "--by" not in body_text(prompt)
    url = labelled_link(prompt, f"Nominate {worker_name} for a Make a Difference interview")
    link = link_row(s, build_context(NOMINATED, settings=site.settings), url)
    assert (link.purpose, link.subject_ref, link.staff_id) == (MAD_NOMINATE, audit.reference, manager_id)
    _release(s)
    screens: list[tuple[str, bytes]] = []
    site.at(NOMINATED)
    assert page.request.head(url).status == 200
    before = _state(s)

    page.goto(url)
    shown = page.locator("main").inner_text()
    assert _state(s) == before
    check_page(page, "mad-nominate", screens)
    assert f"Nominate {worker_name} for a Make a Difference interview" in shown
    assert audit.reference in shown and child[0] in shown and "Grade\tGood" in shown
    assert child[1] not in shown and child[2] not in shown and "Do not include names." in shown

    page.get_by_role("button", name=BUTTON).click()
    errors = page.locator(".govuk-error-summary").inner_text()
    check_page(page, "mad-nominate-errors", screens)
    assert "Enter the good outcome you noticed" in errors and page.title().startswith("Error: ")
    assert _state(s) == before
    page.get_by_label(NOTE).fill("z" * 10_001)
    page.get_by_role("button", name=BUTTON).click()
    assert "The good outcome must be 10,000 characters or fewer" in page.locator(".govuk-error-summary").inner_text()
    assert _state(s) == before

    page.get_by_label(NOTE).fill(GOOD)
    csrf = page.locator("input[name=csrf_token]").input_value()
    page.get_by_role("button", name=BUTTON).click()
    confirmation = page.locator("main").inner_text()
    check_page(page, "mad-nominate-done", screens)

    [mad] = s.scalars(select(MakeADifference))
    assert (mad.kind, mad.status, mad.practitioner_id, mad.nominated_by_id, mad.from_audit_id, mad.note) == (
        "interview", "booked", worker_id, manager_id, audit.id, GOOD)
    assert f"{worker_name} is nominated. Make a Difference interview {mad.reference} is booked for" in confirmation
    assert mad.starts_at >= build_context("2026-12-11T14:00").now  # a working day's notice at least
    event = s.scalar(select(Event).where(Event.kind == "mad-nominated"))
    assert (event.subject_ref, event.actor_id, event.detail) == (mad.reference, manager_id,
                                                                 f"{worker_id} from audit {audit.reference}")
    invited = set(s.scalars(select(OutboxMessage.recipient_email).where(
        OutboxMessage.subject_ref == mad.reference, OutboxMessage.calendar_method == "REQUEST")))
    assert worker_email in invited and len(invited) == 2
    [interviewer_email] = invited - {worker_email}
    _release(s)

    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    received = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert received == {manager_email: 1, worker_email: 1, interviewer_email: 1}
    [note] = [r.message for r in smtp_server.received if r.rcpt_tos == [manager_email]]
    assert note["Subject"] == f"Make a Difference interview {mad.reference}: booked for {worker_name}"
    assert "z" * 20 not in "".join(r.message.as_string() for r in smtp_server.received)
    assert GOOD not in "".join(body_text(r.message) for r in smtp_server.received)  # the note stays in the record

    after = _state(s)
    page.goto(url)
    assert f"already done by {manager_name} at 14:00 on Thursday 10 December 2026" in page.locator("main").inner_text()
    replayed = page.request.post(url, form={"csrf_token": csrf, "note": "Again."})
    assert f"already done by {manager_name}" in replayed.text()
    assert _state(s) == after
    keep_screens(screens)


def test_a_nomination_already_made_from_the_audit_says_so_and_a_second_is_refused(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    worker = s.get(Staff, audit.key_worker_id)
    manager = worker.manager
    prompt = _prompt(s, smtp_server, manager)
    url = labelled_link(prompt, f"Nominate {worker.name} for a Make a Difference interview")
    site.at(NOMINATED)
    page.goto(url)

    # The key worker's service manager nominated them from the same audit meanwhile (the administrators' way).
    service_manager = s.scalars(select(Staff).where(Staff.role == Role.SERVICE_MANAGER, Staff.active,
                                                    Staff.service_id == audit.child.team.service_id)).first()
    their_name = service_manager.name
    nominate_from_audit(s, build_context("2026-12-10T11:00", settings=site.settings), reference=audit.reference,
                        by=service_manager.id, note="Reunited with family.")
    s.commit()
    before = _state(s)
    page.get_by_label(NOTE).fill(GOOD)
    page.get_by_role("button", name=BUTTON).click()
    refused = page.locator(".govuk-error-summary").inner_text()
    assert f"already done by {their_name} at 11:00 on Thursday 10 December 2026" in refused
    assert _state(s) == before

    page.goto(url)
    assert f"was already nominated from audit {audit.reference}" in page.locator(".govuk-inset-text").inner_text()
    assert _state(s) == before


def test_a_manager_who_may_no_longer_nominate_is_refused_at_the_post(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    worker = s.get(Staff, audit.key_worker_id)
    manager = worker.manager
    prompt = _prompt(s, smtp_server, manager)
    url = labelled_link(prompt, f"Nominate {worker.name} for a Make a Difference interview")
    site.at(NOMINATED)
    page.goto(url)
    page.get_by_label(NOTE).fill(GOOD)

    # Moved to a key worker's post after the prompt went: the table is asked again where the change is made.
    s.get(Staff, manager.id).role = Role.KEY_WORKER
    s.commit()
    before = _state(s)
    page.get_by_role("button", name=BUTTON).click()
    assert "may not nominate-mad" in page.locator(".govuk-error-summary").inner_text()
    assert _state(s) == before


def test_the_team_manager_nominates_by_keyboard_alone(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    worker = s.get(Staff, audit.key_worker_id)
    worker_id, worker_name, manager = worker.id, worker.name, worker.manager
    prompt = _prompt(s, smtp_server, manager)
    site.at(NOMINATED)

    page.goto(labelled_link(prompt, f"Nominate {worker_name} for a Make a Difference interview"))
    tab_to(page, element_id="note")
    page.keyboard.type("C1 is settled at home after patient work.")
    tab_to(page, text=BUTTON)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert f"{worker_name} is nominated" in page.locator("main").inner_text()
    [mad] = s.scalars(select(MakeADifference))
    assert (mad.practitioner_id, mad.note) == (worker_id, "C1 is settled at home after patient work.")
    _release(s)
