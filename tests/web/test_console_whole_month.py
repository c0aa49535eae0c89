"""A QA manager runs a whole month from the console, in Chromium, with no terminal: signs in from the sign-in page,
sees the drawn list's mail fail and retries it, approves the list, starts a deep dive and watches it run, sees
what is stuck, then writes and issues the report. What the schedule runs in between (the notices, the booking,
the auditors' forms) is run here as the scheduler would, and every step is checked against the rows and the mail."""
from collections.abc import Iterator
from datetime import date

import pytest
from forms import valid_form
from mail_links import labelled_link
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens

from auditcycle.booking.meetings import book
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.flows.adhoc import runs_beside
from auditcycle.models import Audit, AuditCycle, DrawRequest, Event, OutboxMessage, ReportEdition, Staff
from auditcycle.models.enums import AuditStatus, CycleKind, MessageStatus, Role
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw, monthly_cycle
from auditcycle.submissions.submit import submit

DEC = Month(2026, 12)
SIZE = 4
FINDINGS = "## Findings\n\nChronologies were up to date in most records."
SUMMARY = "December's audits were mostly good or better; one is still outstanding."
THEME = "Neglect in child protection plans"
RUN_WITHIN_MS = 180_000


@pytest.fixture
def beside(site: LiveSite, smtp_env) -> Iterator[LiveSite]:
    """The site as the demo runs it, with no Prefect server: a deep dive runs in a thread beside it."""
    site.app.config["AUDITCYCLE_PREFECT_API_URL"] = None
    yield site
    for thread in runs_beside():
        thread.join(RUN_WITHIN_MS / 1000)


def _sign_in(page: Page, site: LiveSite, s: Session, authority, smtp_server, email: str, now: str) -> None:
    """Sign in as a QA officer does each morning: the sign-in page, the emailed link, its button."""
    site.at(now)
    page.goto(f"{site.url}/console")
    assert page.url.endswith("/sign-in")
    page.get_by_label("Your work email address").fill(email)
    page.get_by_role("button", name="Send me a sign-in link").click()
    assert "Check your email" in page.locator("h1").inner_text()
    s.commit()
    deliver(engine=authority, settings=site.settings)
    [mail] = [r.message for r in smtp_server.received if r.rcpt_tos == [email]
              and r.message["Subject"] == "Your link to sign in to the audit console"][-1:]
    page.goto(labelled_link(mail, "Sign in to the console"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.url}/console**")


def _counts(page: Page) -> dict[str, int]:
    """Read the This month page's counts, as a person reads them: each label and its number."""
    labels = page.locator(".app-count dt").all_inner_texts()
    numbers = page.locator(".app-count dd").all_inner_texts()
    return {label.strip(): int(n) for label, n in zip(labels, numbers, strict=True)}


def test_a_qa_manager_runs_a_whole_month_from_the_console(
        s: Session, authority, beside: LiveSite, smtp_server, page: Page) -> None:
    site = beside
    manager = s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER, Staff.active).order_by(Staff.id)).first()
    manager_id, email = manager.id, manager.email
    screens: list[tuple[str, bytes]] = []

    # 07:00, the scheduled sample: the drawn list goes to the QA manager, whose mail server refuses it.
    draw(s, build_context("2026-11-23T07:00", settings=site.settings), month=DEC, size=SIZE, seed=3)
    s.commit()
    smtp_server.handler.replies = ["550 5.1.1 Mailbox unavailable"]
    deliver(engine=authority, settings=site.settings)
    [failed] = s.scalars(select(OutboxMessage).where(OutboxMessage.status == MessageStatus.FAILED)).all()
    failed_id, failed_ref = failed.id, f"M{failed.id:06d}"
    s.commit()

    # 08:30: what is stuck is the first thing the console shows; the refused list is sent again.
    _sign_in(page, site, s, authority, smtp_server, email, "2026-11-23T08:30")
    page.get_by_role("link", name="December 2026").click()
    check_page(page, "console-whole-month-drawn", screens)
    assert _counts(page)["Drawn"] == SIZE
    page.get_by_role("link", name="1 failed").click()
    assert failed_ref in page.locator("main").inner_text()
    page.get_by_role("button", name=f"Retry {failed_ref}").click()
    assert f"{failed_ref} is back in the queue" in page.locator("main").inner_text()
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    assert [r.rcpt_tos for r in smtp_server.received] == [[email]]
    assert s.get(OutboxMessage, failed_id, populate_existing=True).status == MessageStatus.SENT
    s.commit()

    # The list: reviewed and approved, so its notices go with the next notify run.
    page.get_by_role("link", name="The list").click()
    listed = page.locator("main").inner_text()
    audits = s.scalars(select(Audit).order_by(Audit.id)).all()
    assert all(a.reference in listed and a.child_id in listed for a in audits)
    s.commit()  # SQLite: the test's read would hold the write lock the site's approval needs
    page.get_by_role("button", name="Approve the list").click()
    assert "The December 2026 list is approved" in page.locator("main").inner_text()
    cycle = s.get(AuditCycle, audits[0].cycle_id, populate_existing=True)
    assert cycle.list_approved_by_id == manager_id
    s.commit()

    # A deep dive, asked for on the console's form and watched to its end on its own page.
    page.get_by_role("link", name="Deep dive").click()
    page.get_by_label("A deep dive").check()
    page.get_by_label("Theme").fill(THEME)
    page.get_by_label("How many audits?").fill("2")
    for box, value in zip(("Day", "Month", "Year"), ("4", "12", "2026"), strict=True):
        page.get_by_label(box, exact=True).fill(value)
    with page.expect_navigation():
        page.get_by_role("button", name="Ask for it and start").click()
    expect(page.get_by_role("status")).to_contain_text("Finished", timeout=RUN_WITHIN_MS)
    check_page(page, "console-whole-month-deep-dive", screens)
    request = s.scalars(select(DrawRequest)).one()
    assert (request.requested_by_id, request.theme) == (manager_id, THEME)
    deep = s.scalars(select(Audit).join(AuditCycle).where(AuditCycle.kind == CycleKind.DEEP_DIVE)).all()
    shown = page.locator("main").inner_text()
    assert len(deep) == 2 and all(a.child_id in shown for a in deep)
    s.commit()

    # The schedule's notices and booking; the auditors' forms, all but the last monthly one.
    for audit in deep:
        form = valid_form(audit.child.key_worker_id, today=date(2026, 12, 3), overall="good", grade="good")
        submit(s, build_context("2026-12-03T10:00", settings=site.settings), reference=audit.reference, data=form,
               by=audit.auditor_id)
    cycle = monthly_cycle(s, DEC)
    queue_notices(s, build_context("2026-11-24T07:30", settings=site.settings), cycle=cycle)
    book(s, build_context("2026-11-25T07:45", settings=site.settings), cycle=cycle)
    for audit in audits[:-1]:
        form = valid_form(audit.child.key_worker_id, today=date(2026, 12, 20), overall="good", grade="good")
        submit(s, build_context("2026-12-20T10:00", settings=site.settings), reference=audit.reference, data=form,
               by=audit.auditor_id)
    s.commit()
    deliver(engine=authority, settings=site.settings)

    references = [a.reference for a in audits]
    s.commit()

    # 4 January: the month's last audit is overdue, and the console says so on its first page and in the tracker.
    _sign_in(page, site, s, authority, smtp_server, email, "2027-01-04T09:00")
    page.get_by_role("link", name="December 2026").click()
    counts = _counts(page)
    check_page(page, "console-whole-month-stuck", screens)
    assert counts["Overdue"] == 1
    page.get_by_role("link", name="Tracker").click()
    page.goto(f"{site.url}/console/tracker?month=2026-12&overdue=yes")
    overdue = page.locator("main").inner_text()
    assert references[-1] in overdue and all(ref not in overdue for ref in references[:-1])

    # 12 January: the report's words, as the signed-in QA manager, then issued once.
    _sign_in(page, site, s, authority, smtp_server, email, "2027-01-12T09:00")
    page.get_by_role("link", name="Report").click()
    page.get_by_label("Executive summary").fill(SUMMARY)
    page.get_by_label("Findings and the practice improvement activity planned").fill(FINDINGS)
    page.get_by_role("button", name="Save").click()
    assert "The December 2026 summary and findings are saved" in page.locator("main").inner_text()
    page.get_by_role("button", name="Issue the report").click()
    assert "The December 2026 report is issued" in page.locator("main").inner_text()
    check_page(page, "console-whole-month-issued", screens)
    keep_screens(screens)

    edition = s.scalars(select(ReportEdition)).one()
    assert (edition.month, edition.edition, edition.issued_by_id) == ("2026-12", 1, manager_id)
    cycle = s.get(AuditCycle, cycle.id, populate_existing=True)
    assert (cycle.report_notes, cycle.report_summary, cycle.report_summary_by) == (FINDINGS, SUMMARY, manager_id)
    assert s.scalar(select(func.count()).select_from(Audit).where(Audit.status == AuditStatus.SUBMITTED)) >= SIZE - 1
    assert s.scalar(select(Event.actor_id).where(Event.kind == "mail-retried")) == manager_id
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    reports = [r for r in smtp_server.received if any(
        part.get_filename() == "QA report 2026-12.pdf" for part in r.message.iter_attachments())]
    recipients = [rcpt for r in reports for rcpt in r.rcpt_tos]
    assert recipients and len(recipients) == len(set(recipients))
