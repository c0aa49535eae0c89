"""How to reach the family: the key worker's link in the notice, the page in Chromium, and the family calls
booked on the advice, or, with none given in time, on the imported details."""

import pytest
from factories import contact
from icalendar import Calendar
from mail_links import labelled_link
from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens, tab_to

from auditcycle.booking.meetings import book
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.models import Audit, ContactAdvice, FamilyAdvice, Meeting
from auditcycle.models.enums import AuditStatus, MeetingKind
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw, monthly_cycle

DEC = Month(2026, 12)
NOTICE = "2026-11-24T12:00"


@pytest.fixture
def announced(s: Session, authority, site: LiveSite, smtp_server) -> dict:
    """December drawn and announced; the audit of a child with two or more family contacts, and its key worker's notice."""
    draw(s, build_context("2026-11-23T09:00", settings=site.settings), month=DEC, size=6, seed=21)
    for audit in s.scalars(select(Audit)):
        contact(s, audit.child, relation="father", name=f"Rowan Quillfeather {audit.id}")
    s.commit()
    queue_notices(s, build_context(NOTICE, settings=site.settings), cycle=monthly_cycle(s, DEC))
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    asked = [s.get(Audit, a) for a in s.scalars(select(FamilyAdvice.audit_id))]
    audit = next(a for a in asked if len(a.child.contacts) >= 2)
    contacts = sorted(audit.child.contacts, key=lambda c: c.id)
    facts = {"audit_id": audit.id, "ref": audit.reference, "key_worker": audit.child.key_worker.email,
             "contacts": [(c.id, c.relation, c.name) for c in contacts], "asked": len(asked)}
    s.commit()
    [notice] = [r.message for r in smtp_server.received if r.rcpt_tos == [facts["key_worker"]]]
    facts["url"] = labelled_link(notice, f"How to reach the family for {facts['ref']}")
    return facts


def _calls(s: Session, audit_id: int) -> list[Meeting]:
    calls = list(s.scalars(select(Meeting).where(Meeting.audit_id == audit_id, Meeting.kind == MeetingKind.FAMILY_CALL)
                           .execution_options(populate_existing=True)))
    return calls


def test_the_key_worker_advises_and_the_calls_are_booked_on_it(
        s: Session, authority, site: LiveSite, smtp_server, announced: dict, page: Page) -> None:
    first, second, *_ = announced["contacts"]
    site.at("2026-11-25T09:30")
    screens: list[tuple[str, bytes]] = []

    page.goto(announced["url"])
    shown = page.locator("main").inner_text()
    check_page(page, "family-contact", screens)
    page.locator("#contacts-0-language").fill("Polish")
    page.locator("#contacts-0-interpreter").check()  # Yes
    page.locator("#contacts-0-best_times").fill("Weekday mornings after 10")
    page.locator("#contacts-1-interpreter-2").check()  # No
    page.locator("#contacts-1-do_not_contact_reason").fill("A court order restricts contact <b>for now</b>")
    for n in range(2, len(announced["contacts"])):
        page.locator(f"#contacts-{n}-interpreter-2").check()
    page.get_by_role("button", name="Send the advice to the auditor").click()
    done = page.locator("main").inner_text()
    check_page(page, "family-contact-done", screens)

    assert first[1] in shown.lower() and second[1] in shown.lower()
    assert all(name not in shown for _, _, name in announced["contacts"])
    assert "will be booked on your advice" in done
    advice = s.get(FamilyAdvice, announced["audit_id"], populate_existing=True)
    rows = {c.contact_id: c for c in s.scalars(select(ContactAdvice).where(ContactAdvice.audit_id == advice.audit_id))}
    assert advice.given_at is not None
    assert (rows[first[0]].language, rows[first[0]].interpreter_needed, rows[first[0]].best_times) == (
        "Polish", True, "Weekday mornings after 10")
    assert rows[second[0]].do_not_contact_reason == "A court order restricts contact <b>for now</b>"
    s.commit()

    smtp_server.received.clear()
    book(s, build_context("2026-11-25T10:45", settings=site.settings), cycle=monthly_cycle(s, DEC))
    s.commit()
    deliver(engine=authority, settings=site.settings)
    calls = {m.contact_id: m for m in _calls(s, announced["audit_id"])}
    assert second[0] not in calls and calls[first[0]].interpreter_language == "Polish"
    invites = [r.message for r in smtp_server.received if "Family call" in r.message["Subject"]
               and announced["ref"] in r.message["Subject"]]
    [invite] = invites
    [calendar] = [Calendar.from_ical(p.get_payload(decode=True)) for p in invite.walk()
                  if p.get_content_type() == "text/calendar"]
    [event] = calendar.walk("VEVENT")
    assert "best times to call are: Weekday mornings after 10" in str(event["DESCRIPTION"])
    assert "court order" not in invite.as_string().lower()
    keep_screens(screens)


def test_the_key_worker_advises_by_keyboard_alone(
        s: Session, authority, site: LiveSite, smtp_server, announced: dict, page: Page) -> None:
    first, *others = announced["contacts"]
    site.at("2026-11-25T09:30")

    page.goto(announced["url"])
    tab_to(page, element_id="contacts-0-language")
    page.keyboard.type("Polish")
    tab_to(page, element_id="contacts-0-interpreter")
    page.keyboard.press("Space")  # Yes
    for n in range(1, len(others) + 1):
        tab_to(page, element_id=f"contacts-{n}-interpreter")
        page.keyboard.press("ArrowDown")  # No
    tab_to(page, text="Send the advice to the auditor")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert "will be booked on your advice" in page.locator("main").inner_text()
    rows = {c.contact_id: c for c in s.scalars(select(ContactAdvice).where(
        ContactAdvice.audit_id == announced["audit_id"]).execution_options(populate_existing=True))}
    assert (rows[first[0]].language, rows[first[0]].interpreter_needed) == ("Polish", True)
    assert [rows[c[0]].interpreter_needed for c in others] == [False] * len(others)
    s.commit()


def test_with_no_advice_the_calls_wait_then_book_on_the_imported_details(
        s: Session, authority, site: LiveSite, announced: dict) -> None:
    cycle_at = monthly_cycle(s, DEC)

    book(s, build_context("2026-11-24T12:45", settings=site.settings), cycle=cycle_at)
    s.commit()
    waiting = (s.get(Audit, announced["audit_id"], populate_existing=True).status,
               len(_calls(s, announced["audit_id"])))
    book(s, build_context("2026-11-26T12:45", settings=site.settings), cycle=cycle_at)
    s.commit()
    after = (s.get(Audit, announced["audit_id"], populate_existing=True).status, len(_calls(s, announced["audit_id"])))

    assert waiting == (AuditStatus.NOTIFIED, 0)
    assert after == (AuditStatus.BOOKED, len(announced["contacts"]))


def test_an_interpreter_with_no_language_is_asked_for_and_nothing_is_stored(
        s: Session, site: LiveSite, announced: dict, page: Page) -> None:
    site.at("2026-11-25T09:30")
    page.goto(announced["url"])
    page.locator("#contacts-0-interpreter").check()
    page.get_by_role("button", name="Send the advice to the auditor").click()

    summary = page.locator(".govuk-error-summary").inner_text()
    assert "Enter the language the interpreter is needed for" in summary
    assert "Select whether an interpreter is needed" in summary
    assert s.get(FamilyAdvice, announced["audit_id"], populate_existing=True).given_at is None
    assert s.scalars(select(ContactAdvice)).all() == []
    s.commit()
