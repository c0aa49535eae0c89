"""The console's report page, in Chromium: the summary and findings set as the signed-in person (the trail says who),
the preview and the PDF showing them, the report issued once however often it is clicked, and a reissue with a
reason that keeps the earlier edition; nobody outside the QA team changes anything."""
import html
import io
from datetime import date
from pathlib import Path

import pytest
from forms import valid_form
from playwright.sync_api import Page
from pypdf import PdfReader
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens, sign_in_to_console

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.settings import Settings
from auditcycle.models import Audit, AuditCycle, Event, ReportEdition, Staff, TrailEntry
from auditcycle.models.enums import Role
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.report.data import build_report_data
from auditcycle.report.summary import drafted_summary
from auditcycle.sampling.cycle import draw, monthly_cycle
from auditcycle.submissions.submit import submit

DEC = Month(2026, 12)
NOW = "2027-01-12T09:00"  # the report's month is last month's: December
GRADES = ["good", "requires_improvement", "inadequate", "requires_improvement"]
FINDINGS = "## Findings\n\nDirect work with children was **strong** across the teams.\n\n- A workshop on chronologies"
SUMMARY = "December's audits show steady practice; chronologies are the theme to watch."
REASON = "An audit's grade was corrected after moderation."
BROADCAST = "QA report 2026-12.pdf"


@pytest.fixture
def settings(smtp_server, tmp_path: Path) -> Settings:
    """The shared settings, with the reports folder in the test's own directory."""
    return Settings(database_url="sqlite://", smtp_host="127.0.0.1", smtp_port=smtp_server.port,
                    reports_dir=tmp_path / "reports")


@pytest.fixture
def month(s: Session, authority, site: LiveSite) -> AuditCycle:
    """Four December audits drawn, announced and submitted."""
    draw(s, build_context("2026-11-23T09:00", settings=site.settings), month=DEC, size=len(GRADES), seed=5)
    s.commit()
    cycle = monthly_cycle(s, DEC)
    queue_notices(s, build_context("2026-11-24T12:00", settings=site.settings), cycle=cycle)
    for audit, grade in zip(s.scalars(select(Audit).order_by(Audit.id)), GRADES, strict=True):
        form = valid_form(audit.child.key_worker_id, today=date(2026, 12, 20), overall=grade, grade=grade)
        submit(s, build_context("2026-12-20T10:00", settings=site.settings), reference=audit.reference, data=form,
               by=audit.auditor_id)
    s.commit()
    return cycle


def _qa_manager(s: Session) -> Staff:
    person = s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER, Staff.active).order_by(Staff.id)).first()
    s.commit()
    return person


def _pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def _download(page: Page, link_name: str) -> bytes:
    with page.expect_download() as download:
        page.get_by_role("link", name=link_name).click()
    return Path(download.value.path()).read_bytes()


def _reports_mailed(smtp_server) -> dict[str, int]:
    """Count the broadcast reports each person received."""
    counts: dict[str, int] = {}
    for received in smtp_server.received:
        if any(part.get_filename() == BROADCAST for part in received.message.iter_attachments()):
            for rcpt in received.rcpt_tos:
                counts[rcpt] = counts.get(rcpt, 0) + 1
    return counts


def test_the_summary_and_findings_are_set_as_the_signed_in_person_and_shown_in_the_preview_and_pdf(
        s: Session, authority, site: LiveSite, smtp_server, month: AuditCycle, page: Page) -> None:
    manager = _qa_manager(s)
    drafted = drafted_summary(build_report_data(s, build_context(NOW, settings=site.settings), month=DEC))
    s.commit()
    sign_in_to_console(page, site, s, authority, smtp_server, manager.id, NOW)
    screens: list[tuple[str, bytes]] = []

    page.get_by_role("link", name="Report").click()
    check_page(page, "console-report", screens)
    assert page.url.endswith("/console/report") and "December 2026" in page.locator("h1").inner_text()
    # The summary box starts with the summary drafted from the figures.
    assert page.get_by_label("Executive summary").input_value() == drafted

    page.get_by_label("Executive summary").fill("")
    page.get_by_label("Findings and the practice improvement activity planned").fill(FINDINGS)
    page.get_by_role("button", name="Save").click()
    errors = page.locator(".govuk-error-summary").inner_text()
    check_page(page, "console-report-errors", screens)
    assert "Enter the executive summary, or go back to the one drafted from the figures" in errors
    assert page.title().startswith("Error: ")
    assert page.locator("#summary-error").count() == 1
    assert s.get(AuditCycle, month.id, populate_existing=True).report_notes is None
    s.commit()

    page.get_by_label("Executive summary").fill(SUMMARY)
    page.get_by_label("Findings and the practice improvement activity planned").fill(FINDINGS)
    page.get_by_role("button", name="Save").click()
    saved = page.locator("main").inner_text()

    assert "The December 2026 summary and findings are saved" in saved
    cycle = s.get(AuditCycle, month.id, populate_existing=True)
    assert (cycle.report_notes, cycle.report_summary, cycle.report_summary_by) == (FINDINGS, SUMMARY, manager.id)
    trail = s.scalars(select(TrailEntry).where(TrailEntry.entity == "audit_cycle",
                                               TrailEntry.entity_id == str(month.id),
                                               TrailEntry.actor == manager.id)).all()
    assert sorted(w for t in trail for w in t.changes.get("withheld", [])) == ["report_notes", "report_summary"]
    s.commit()
    assert page.get_by_label("Executive summary").input_value() == SUMMARY
    assert f"Now: written by {manager.name}." in saved

    page.get_by_role("link", name="Preview the report").click()
    preview = page.locator("body").inner_text()
    # The report document itself, as its readers see it (its own checks are the report's: tests/report).
    screens.append(("console-report-preview-desktop.png", page.screenshot(full_page=True)))
    assert "Direct work with children was strong across the teams." in preview
    assert SUMMARY in preview and f"Written by {manager.name} for this report." in preview
    assert "PROVISIONAL" in preview  # December's moderation has not closed
    page.go_back()

    pdf = _pdf_text(_download(page, "Download the PDF of the December 2026 report"))
    assert "Direct work with children was strong across the teams." in pdf and "December's audits show" in pdf
    keep_screens(screens)


def test_the_report_is_issued_once_from_two_tabs_and_reissued_with_a_reason_keeping_the_first_edition(
        s: Session, authority, site: LiveSite, smtp_server, month: AuditCycle, page: Page) -> None:
    manager = _qa_manager(s)
    sign_in_to_console(page, site, s, authority, smtp_server, manager.id, NOW)
    smtp_server.received.clear()
    screens: list[tuple[str, bytes]] = []
    other = page.context.new_page()
    other.goto(f"{site.url}/console/report")
    page.goto(f"{site.url}/console/report")

    page.get_by_role("button", name="Issue the report").click()
    issued = page.locator("main").inner_text()
    other.get_by_role("button", name="Issue the report").click()
    twice = other.locator(".govuk-error-summary").inner_text()

    assert "The December 2026 report is issued" in issued
    assert (f"Edition 1 of the December 2026 report was already issued by {manager.name} at 09:00 on Tuesday "
            "12 January 2027. Nothing was sent again.") in twice
    assert s.execute(select(ReportEdition.edition, ReportEdition.reissue, ReportEdition.issued_by_id)).all() == [
        (1, False, manager.id)]
    assert s.scalars(select(TrailEntry.actor).where(TrailEntry.entity == "report_edition")).all() == [manager.id]
    s.commit()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    first = _reports_mailed(smtp_server)
    distribution = set(s.scalars(select(Staff.email).where(Staff.active, Staff.role.in_(
        [Role(r) for r in site.settings.framework.report_distribution_roles]))))
    s.commit()
    assert set(first) == distribution and set(first.values()) == {1}

    page.get_by_role("button", name="Reissue the report").click()
    refused = page.locator(".govuk-error-summary").inner_text()
    check_page(page, "console-report-reissue-errors", screens)
    assert "Enter why the report is being reissued" in refused and page.locator("#reissue-reason-error").count() == 1
    assert s.scalar(select(func.count()).select_from(ReportEdition)) == 1
    s.commit()

    page.get_by_label("Why is the report being reissued?").fill(REASON)
    page.get_by_role("button", name="Reissue the report").click()
    reissued = page.locator("main").inner_text()
    check_page(page, "console-report-issued", screens)

    assert "The December 2026 report is reissued as edition 2" in reissued
    rows = s.execute(select(ReportEdition.edition, ReportEdition.reissue, ReportEdition.issued_by_id,
                            ReportEdition.reason).order_by(ReportEdition.edition)).all()
    assert rows == [(1, False, manager.id, None), (2, True, manager.id, REASON)]
    event = s.scalars(select(Event).where(Event.kind == "report-reissued")).one()
    assert (event.actor_id, event.detail, event.subject_ref) == (manager.id, REASON, "report-2026-12-e2")
    s.commit()
    editions = page.get_by_role("region", name="Editions of the report").inner_text()
    assert REASON in editions and editions.count(manager.name) == 2

    old = _pdf_text(_download(page, "PDF of edition 1"))
    new = _pdf_text(_download(page, "PDF of edition 2"))
    assert "Corrected edition" not in old and "Reissued — corrected edition 2" in new
    page.get_by_role("link", name="web page of edition 1").click()
    assert "Quality Assurance report: December 2026" in page.locator("h1").inner_text()
    page.go_back()

    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    again = _reports_mailed(smtp_server)
    assert set(again) == distribution and set(again.values()) == {1}
    # The other tab still shows edition 1: its reissue is told edition 2 went out, and nothing is sent.
    other.get_by_label("Why is the report being reissued?").fill("A second correction.")
    other.get_by_role("button", name="Reissue the report").click()
    stale = html.unescape(other.locator(".govuk-error-summary").inner_text())
    assert f"Edition 2 of the December 2026 report was already issued by {manager.name}" in stale
    assert s.scalar(select(func.count()).select_from(ReportEdition)) == 2
    s.commit()
    keep_screens(screens)


def test_someone_no_longer_in_the_qa_team_is_refused_at_the_post_and_the_preview(
        s: Session, authority, site: LiveSite, smtp_server, month: AuditCycle, page: Page) -> None:
    manager = _qa_manager(s)
    sign_in_to_console(page, site, s, authority, smtp_server, manager.id, NOW)
    page.goto(f"{site.url}/console/report")
    token = page.locator("form[action='/sign-out'] input[name=csrf_token]").input_value()
    s.execute(update(Staff).where(Staff.id == manager.id).values(role=Role.TEAM_MANAGER))
    s.commit()

    words = page.request.post(f"{site.url}/console/report/words", form={
        "csrf_token": token, "month": "2026-12", "summary": SUMMARY, "notes": FINDINGS})
    issue = page.request.post(f"{site.url}/console/report/issue", form={
        "issue-csrf_token": token, "issue-month": "2026-12", "issue-seen": "0"})
    preview = page.request.get(f"{site.url}/console/report/preview.pdf?month=2026-12")

    # Refused by the page's guard or, behind it, by the domain function's own check (tests/people covers that).
    assert words.status == 403 and "the QA team" in html.unescape(words.text())
    assert issue.status == 403 and "the QA team" in html.unescape(issue.text())
    assert preview.status == 403
    cycle = s.get(AuditCycle, month.id, populate_existing=True)
    assert (cycle.report_notes, cycle.report_summary) == (None, None)
    assert s.scalar(select(func.count()).select_from(ReportEdition)) == 0
    s.commit()


def test_the_report_page_needs_a_signed_in_qa_member(s: Session, authority, site: LiveSite, page: Page) -> None:
    page.goto(f"{site.url}/console/report/preview?month=2026-12")
    assert page.url.endswith("/sign-in")
    response = page.request.post(f"{site.url}/console/report/issue", form={"issue-month": "2026-12"})
    assert response.status in (302, 303, 400)
    assert s.scalar(select(func.count()).select_from(ReportEdition)) == 0
