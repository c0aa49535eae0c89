"""Confirm or dismiss a supervision gap, from the auditor's received notice to the page in Chromium and back."""
import re
from datetime import date

import pytest
from mail_links import body_text, labelled_link, link_urls
from playwright.sync_api import Page
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.immediate_responses.supervision_gaps import raise_undecided_gaps
from auditcycle.models import Audit, Child, Event, ImmediateResponse, Link, OutboxMessage, Staff, SupervisionGap
from auditcycle.models.enums import ResponseTrigger, Role, SupervisionGapStatus
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw

DECIDING = "2026-11-26T10:30"


@pytest.fixture
def audit(s: Session, authority, site: LiveSite, smtp_server) -> Audit:
    """December drawn with every child's supervision last recorded on 22 May; the notices have been received."""
    s.execute(update(Child).values(last_supervision_date=date(2026, 5, 22)))
    s.commit()
    draw(s, build_context("2026-11-23T09:00", settings=site.settings), month=Month(2026, 12), size=3, seed=2)
    s.commit()
    first = s.scalars(select(Audit).order_by(Audit.id)).first()
    queue_notices(s, build_context("2026-11-24T12:00", settings=site.settings), cycle=first.cycle)
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    _release(s)
    return first


def _release(s: Session) -> None:
    """End the test session's transaction (a commit: on SQLite its reads hold the write lock the site needs)."""
    s.commit()


def _mail_to(smtp_server, email: str) -> list:
    return [r.message for r in smtp_server.received if r.rcpt_tos == [email]]


def _button(audit: Audit) -> str:
    return f"Confirm or dismiss the gap on {audit.reference}"


def _state(s: Session, audit: Audit) -> tuple:
    """Everything a finding could change: the gap, the responses, the links, the outbox, the trail."""
    gap = s.scalar(select(SupervisionGap).where(SupervisionGap.audit_id == audit.id).execution_options(
        populate_existing=True))
    return (gap.status, gap.reason, gap.decided_by_id,
            s.scalar(select(func.count()).select_from(ImmediateResponse)),
            s.scalar(select(func.count()).select_from(Link).where(Link.used_at.is_not(None))),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
            s.scalar(select(func.count()).select_from(Event)), _release(s))


def test_the_auditor_confirms_the_gap_and_the_service_manager_is_asked_to_respond_once(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    auditor = audit.auditor
    auditor_id, auditor_name = auditor.id, auditor.name
    manager = s.get(Staff, audit.child.key_worker.manager_id)
    service_managers = [m.email for m in s.scalars(select(Staff).where(
        Staff.role == Role.SERVICE_MANAGER, Staff.service_id == audit.child.team.service_id, Staff.active))]
    child = (audit.child_id, audit.child.first_name, audit.child.last_name)
    _release(s)
    [notice] = _mail_to(smtp_server, auditor.email)
    [told_manager] = _mail_to(smtp_server, manager.email)
    assert "auditcycle " not in body_text(notice) and "auditcycle " not in body_text(told_manager)
    assert _button(audit) not in body_text(told_manager)
    url = labelled_link(notice, _button(audit))
    screens: list[tuple[str, bytes]] = []
    site.at(DECIDING)

    page.goto(url)
    shown = page.locator("main").inner_text()
    check_page(page, "supervision-gap", screens)
    page.get_by_label("Confirm the gap: raise the Immediate Response").check()
    page.get_by_label("What the records and the conversation with the team manager showed").fill(
        "No supervision on file since May; the team manager agrees <u>none</u> took place.")
    page.get_by_role("button", name="Record the finding").click()
    confirmation = page.locator("main").inner_text()
    check_page(page, "supervision-gap-done", screens)

    assert "the records show" in shown.lower() and "no supervision since 22 May 2026" in shown
    assert child[0] in shown and child[1] not in shown and child[2] not in shown
    assert "17:00 on Tuesday 1 December 2026" in shown
    [ir] = s.scalars(select(ImmediateResponse))
    assert f"The supervision gap on audit {audit.reference} is confirmed. Immediate Response {ir.reference}" \
        in confirmation
    gap = s.scalar(select(SupervisionGap).where(SupervisionGap.audit_id == audit.id))
    assert (gap.status, gap.decided_by_id, gap.response_id) == (SupervisionGapStatus.CONFIRMED, auditor_id, ir.id)
    assert (ir.trigger, ir.raised_by_id) == (ResponseTrigger.SUPERVISION_GAP, auditor_id)
    _release(s)

    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    alerts = [r for r in smtp_server.received if "IMMEDIATE RESPONSE" in r.message["Subject"]]
    assert sorted(r.rcpt_tos[0] for r in alerts) == sorted(service_managers)
    assert "Respond to the Immediate Response: http" in body_text(alerts[0].message)
    assert "<u>none</u>" in body_text(alerts[0].message)

    page.goto(url)
    assert f"already done by {auditor_name} at 10:30 on Thursday 26 November 2026" in \
        page.locator("main").inner_text()
    keep_screens(screens)


def test_the_auditor_dismisses_the_gap_by_keyboard_after_the_errors_are_listed(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    auditor = audit.auditor
    _release(s)
    [notice] = _mail_to(smtp_server, auditor.email)
    site.at(DECIDING)
    before = _state(s, audit)
    screens: list[tuple[str, bytes]] = []

    page.goto(labelled_link(notice, _button(audit)))
    assert page.get_by_role("group", name="Is there a supervision gap?").is_visible()  # the radios' legend
    page.get_by_role("button", name="Record the finding").click()
    errors = page.locator(".govuk-error-summary").inner_text()
    assert "Select whether you confirm or dismiss the gap" in errors and "Enter what the records" in errors
    assert page.title().startswith("Error: ")
    check_page(page, "supervision-gap-errors", screens)
    assert _state(s, audit) == before

    page.locator("#decision").focus()  # the first radio
    page.keyboard.press("ArrowDown")  # the second: dismiss
    page.keyboard.press("Tab")
    page.keyboard.type("Supervision is recorded in the team's own log; last held on 3 November.")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert f"The supervision gap on audit {audit.reference} is dismissed." in page.locator("main").inner_text()
    status, reason, by, responses, *_ = _state(s, audit)
    assert (status, by, responses) == (SupervisionGapStatus.DISMISSED, auditor.id, 0)
    assert reason.startswith("Supervision is recorded in the team's own log")
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    assert smtp_server.received == []  # a dismissal tells no one: the reason is kept with the audit
    keep_screens(screens)


def test_a_gap_raised_automatically_meanwhile_is_refused_a_scanner_changes_nothing_and_a_replay_is_answered(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    auditor = audit.auditor
    others = s.scalars(select(Audit).where(Audit.auditor_id == auditor.id, Audit.id != audit.id)).all()
    _release(s)
    [notice] = _mail_to(smtp_server, auditor.email)
    url = labelled_link(notice, _button(audit))
    site.at(DECIDING)
    before = _state(s, audit)
    assert page.request.head(url).status == 200 and page.request.get(url).status == 200
    assert _state(s, audit) == before
    # Each gap has its own link: one audit's link names that audit only.
    gap_links = re.findall(r"Confirm or dismiss the gap on [\w-]+: (\S+)", body_text(notice))
    assert len(set(gap_links)) == len(gap_links) == 1 + len(others)  # a link for each gap the auditor decides
    assert set(gap_links) <= set(link_urls(notice))

    page.goto(url)
    csrf = page.locator("input[name=csrf_token]").input_value()
    raise_undecided_gaps(s, build_context("2026-12-01T17:30", settings=site.settings))
    s.commit()
    before = _state(s, audit)
    site.at("2026-12-01T17:45")
    page.get_by_label("Dismiss it: it is not a gap").check()
    page.get_by_label("What the records and the conversation with the team manager showed").fill("Recorded elsewhere.")
    page.get_by_role("button", name="Record the finding").click()
    assert "already raised automatically" in page.locator(".govuk-error-summary").inner_text()
    assert "This gap was already raised automatically" in page.locator("main").inner_text()
    assert _state(s, audit) == before

    replayed = page.request.post(url, form={"csrf_token": csrf, "decision": "dismiss", "reason": "Again."})
    assert replayed.status == 400 and "already raised automatically" in replayed.text()
    assert _state(s, audit) == before
