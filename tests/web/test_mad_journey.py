"""Check, edit and approve a Make a Difference summary, from the QA team's drafts email to the page in Chromium."""
from datetime import date

import pytest
from conftest import PLANTED, QA_MANAGER
from forms import valid_form
from mail_links import body_text, labelled_link, link_row, link_urls
from playwright.sync_api import Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.learning.culture import draft_summaries
from auditcycle.links.keys import serializer, signing_keys
from auditcycle.models import Audit, Event, Link, MakeADifference, OutboxMessage, Staff
from auditcycle.models.enums import Role
from auditcycle.moderation.panel import record_moderation, select_for_moderation
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw, monthly_cycle
from auditcycle.submissions.submit import submit

DEC = Month(2026, 12)
AFTER_CLOSURE = "2027-01-18T09:00"  # December's moderation closed at the end of Friday 15 January 2027
APPROVED = "2027-01-19T10:00"
STRENGTHS = f"{PLANTED['child_first']} {PLANTED['child_last']} trusts the worker; visits are never rushed."


def _release(s: Session) -> None:
    """End the test session's transaction: on SQLite its reads hold the write lock the site needs."""
    s.commit()


@pytest.fixture
def drafts(s: Session, authority, site: LiveSite, smtp_server) -> list[MakeADifference]:
    """Two December audits submitted good, moderated by an assistant director, final: their drafts mailed."""
    settings = site.settings
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=DEC, size=2, seed=21)
    s.commit()
    cycle = monthly_cycle(s, DEC)
    queue_notices(s, build_context("2026-11-24T12:00", settings=settings), cycle=cycle)
    s.commit()
    audits = list(s.scalars(select(Audit).order_by(Audit.id)))
    for audit in audits:
        form = valid_form(audit.child.key_worker_id, today=date(2026, 12, 20), overall="good", strengths=STRENGTHS)
        submit(s, build_context("2026-12-20T10:00", settings=settings), reference=audit.reference, data=form,
               by=audit.auditor_id)
    s.commit()
    select_for_moderation(s, build_context("2027-01-04T09:00", settings=settings), cycle=cycle)
    director = s.scalars(select(Staff).where(Staff.role == Role.ASSISTANT_DIRECTOR, Staff.active)).first()
    for audit in audits:
        record_moderation(s, build_context("2027-01-05T10:00", settings=settings), reference=audit.reference,
                          by=director.id, grade="good", domains={}, note="Agreed.")
    s.commit()
    select_for_moderation(s, build_context(AFTER_CLOSURE, settings=settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)
    smtp_server.received.clear()
    assert draft_summaries(s, build_context(AFTER_CLOSURE, settings=settings), cycle=cycle) == 2
    s.commit()
    deliver(engine=authority, settings=settings)
    made = list(s.scalars(select(MakeADifference).order_by(MakeADifference.id)))
    _release(s)
    return made


def _drafts_mail(s: Session, smtp_server):
    email = s.get(Staff, QA_MANAGER).email
    _release(s)
    [message] = [r.message for r in smtp_server.received if r.rcpt_tos == [email]]
    return message


def _state(s: Session, mad: MakeADifference) -> tuple:
    """Everything approving could change: the summary, the links, the outbox, the trail."""
    row = s.get(MakeADifference, mad.id, populate_existing=True)
    return (row.status, row.summary, row.approved_by_id,
            s.scalar(select(func.count()).select_from(Link).where(Link.used_at.is_not(None))),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
            s.scalar(select(func.count()).select_from(Event)), _release(s))


def test_the_qa_manager_edits_and_approves_a_summary_from_the_drafts_email(
        s: Session, authority, site: LiveSite, smtp_server, drafts: list[MakeADifference], page: Page) -> None:
    mad = drafts[0]
    manager_name = s.get(Staff, QA_MANAGER).name
    message = _drafts_mail(s, smtp_server)
    text = body_text(message)
    assert "auditcycle " not in text and len(link_urls(message)) == len(drafts)
    ctx = build_context(APPROVED, settings=site.settings)
    assert [link_row(s, ctx, labelled_link(message, f"Check and approve {m.reference}")).subject_ref
            for m in drafts] == [m.reference for m in drafts]
    _release(s)
    url = labelled_link(message, f"Check and approve {mad.reference}")
    screens: list[tuple[str, bytes]] = []
    site.at(APPROVED)
    before = _state(s, mad)

    page.goto(url)
    shown = page.locator("main").inner_text()
    draft = page.get_by_label("Make a Difference summary").input_value()
    check_page(page, "mad-approve", screens)
    assert "Check and approve the summary" in shown and mad.reference in shown
    assert draft == "Z. Q. trusts the worker; visits are never rushed."
    assert PLANTED["child_first"] not in shown + draft and PLANTED["child_last"] not in shown + draft

    page.get_by_label("Make a Difference summary").fill("   ")
    page.get_by_role("button", name="Approve the summary").click()
    errors = page.locator(".govuk-error-summary").inner_text()
    check_page(page, "mad-approve-errors", screens)
    assert "Enter the summary" in errors and page.title().startswith("Error: ")
    assert _state(s, mad) == before

    edited = "Z. Q. trusts the worker: visits are <em>never</em> rushed, and Z. Q. leads their reviews."
    page.get_by_label("Make a Difference summary").fill(edited)
    page.get_by_role("button", name="Approve the summary").click()
    confirmation = page.locator("main").inner_text()
    check_page(page, "mad-approve-done", screens)

    assert f"Summary {mad.reference} is approved" in confirmation
    row = s.get(MakeADifference, mad.id, populate_existing=True)
    assert (row.status, row.summary, row.approved_by_id) == ("approved", edited, QA_MANAGER)
    event = s.scalar(select(Event).where(Event.kind == "mad-approved", Event.subject_ref == mad.reference))
    assert (event.actor_id, event.detail) == (QA_MANAGER, "edited before approval")
    other = s.get(MakeADifference, drafts[1].id, populate_existing=True)
    assert other.status == "draft"
    _release(s)

    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    assert smtp_server.received == []  # approving sends nothing

    page.goto(url)
    assert f"already done by {manager_name} at 10:00 on Tuesday 19 January 2027" in page.locator("main").inner_text()
    keep_screens(screens)


def test_approving_unchanged_by_keyboard_alone_keeps_the_draft_as_written(
        s: Session, authority, site: LiveSite, smtp_server, drafts: list[MakeADifference], page: Page) -> None:
    mad = drafts[1]
    message = _drafts_mail(s, smtp_server)
    site.at(APPROVED)

    page.goto(labelled_link(message, f"Check and approve {mad.reference}"))
    page.keyboard.press("Tab")  # the skip link
    page.locator("#summary").focus()
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert f"Summary {mad.reference} is approved" in page.locator("main").inner_text()
    row = s.get(MakeADifference, mad.id, populate_existing=True)
    assert (row.status, row.summary, row.approved_by_id) == ("approved", STRENGTHS, QA_MANAGER)
    _release(s)


def test_scanners_other_summaries_tokens_and_a_lost_role_change_nothing(
        s: Session, authority, site: LiveSite, smtp_server, drafts: list[MakeADifference], page: Page) -> None:
    mad, other = drafts
    message = _drafts_mail(s, smtp_server)
    url = labelled_link(message, f"Check and approve {mad.reference}")
    site.at(APPROVED)
    before = _state(s, mad)

    page.goto(url)
    assert page.request.head(url).status == 200
    assert _state(s, mad) == before

    ctx = build_context(APPROVED, settings=site.settings)
    link = link_row(s, ctx, url)
    forged = serializer(signing_keys(s, ctx), "mad-approve").dumps(
        {"p": "mad-approve", "s": other.reference, "i": link.id})
    _release(s)
    response = page.goto(f"{site.url}/act/{forged}")
    assert response.status == 404 and "not one we sent" in page.locator("main").inner_text()
    assert _state(s, mad) == before and _state(s, other)[0] == "draft"

    # The QA manager moves out of the QA team after the email went.
    s.get(Staff, QA_MANAGER).role = Role.TEAM_MANAGER
    s.commit()
    before = _state(s, mad)
    page.goto(url)
    page.get_by_role("button", name="Approve the summary").click()
    assert "may not mad-approve" in page.locator(".govuk-error-summary").inner_text()
    assert _state(s, mad) == before
