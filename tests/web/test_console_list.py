"""The console's list page: a QA manager reviews the drawn list, replaces an audit with a reason and approves the
list, in Chromium; each change is the signed-in person's, and nothing is done twice."""
from playwright.sync_api import Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens, sign_in_to_console

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.models import Audit, AuditCycle, Staff, TrailEntry
from auditcycle.models.enums import AuditStatus, Role
from auditcycle.sampling.cycle import draw

DEC = Month(2026, 12)
REVIEW = "2026-11-23T08:30"


def _staff(s: Session, role: Role) -> tuple[str, str]:
    person = s.scalars(select(Staff).where(Staff.role == role, Staff.active).order_by(Staff.id)).first()
    return person.id, person.name


def _drawn(s: Session, site: LiveSite) -> list[str]:
    draw(s, build_context("2026-11-23T07:00", settings=site.settings), month=DEC, size=4, seed=3)
    s.commit()
    refs = list(s.scalars(select(Audit.reference).order_by(Audit.id)))
    s.commit()
    return refs


def test_a_qa_manager_replaces_an_audit_and_approves_the_list_from_the_console(
        s: Session, authority, site: LiveSite, smtp_server, page: Page) -> None:
    refs = _drawn(s, site)
    manager_id, manager_name = _staff(s, Role.QA_MANAGER)
    s.commit()
    sign_in_to_console(page, site, s, authority, smtp_server, manager_id, REVIEW)
    screens: list[tuple[str, bytes]] = []

    page.get_by_role("link", name="The list").click()
    shown = page.locator("main").inner_text()
    check_page(page, "console-list", screens)
    assert "December 2026" in shown and "4 audits" in shown and all(ref in shown for ref in refs)
    assert "Unapproved, they go at 12:00 on Tuesday 24 November 2026" in shown

    page.get_by_role("link", name=f"Replace {refs[0]}").click()
    page.get_by_role("button", name="Replace the audit").click()
    errors = page.locator(".govuk-error-summary").inner_text()
    check_page(page, "console-replace-errors", screens)
    assert "Enter why the audit is being replaced" in errors and page.title().startswith("Error: ")
    assert s.scalar(select(Audit.status).where(Audit.reference == refs[0])) == AuditStatus.ALLOCATED
    s.commit()

    page.get_by_label("Why is this audit being replaced?").fill("The case closed on Friday.")
    page.get_by_role("button", name="Replace the audit").click()
    replaced = page.locator("main").inner_text()
    new_ref = s.scalar(select(Audit.reference).order_by(Audit.id.desc()).limit(1))
    assert f"{refs[0]} is replaced by {new_ref}" in replaced and page.url.endswith("/console/list?month=2026-12")
    assert s.scalar(select(Audit.status).where(Audit.reference == refs[0])) == AuditStatus.REPLACED
    assert s.scalar(select(func.count()).select_from(TrailEntry).where(TrailEntry.actor == manager_id)) > 0
    s.commit()

    page.get_by_role("button", name="Approve the list").click()
    approved = page.locator("main").inner_text()
    check_page(page, "console-list-approved", screens)

    cycle = s.scalars(select(AuditCycle).where(AuditCycle.month == DEC)).one()
    assert "The December 2026 list is approved: its notices go with the next notify run." in approved
    assert cycle.list_approved_by_id == manager_id
    assert f"Approved by {manager_name} at 08:30 on Monday 23 November 2026" in approved
    assert page.get_by_role("button", name="Approve the list").count() == 0
    s.commit()
    keep_screens(screens)


def test_a_second_approval_from_another_tab_and_a_pim_s_approval_change_nothing(
        s: Session, authority, site: LiveSite, smtp_server, page: Page) -> None:
    _drawn(s, site)
    manager_id, manager_name = _staff(s, Role.QA_MANAGER)
    s.commit()
    sign_in_to_console(page, site, s, authority, smtp_server, manager_id, REVIEW)
    other = page.context.new_page()
    other.goto(f"{site.url}/console/list")
    page.goto(f"{site.url}/console/list")

    page.get_by_role("button", name="Approve the list").click()
    other.get_by_role("button", name="Approve the list").click()
    twice = other.locator(".govuk-error-summary").inner_text()

    assert f"already approved by {manager_name} at 08:30 on Monday 23 November 2026. Nothing was changed." in twice
    approvals = s.scalar(select(func.count()).select_from(TrailEntry).where(
        TrailEntry.entity == "audit_cycle", TrailEntry.actor == manager_id))
    assert approvals == 1
    s.commit()

    pim_id, _ = _staff(s, Role.PRACTICE_IMPROVEMENT_MANAGER)
    s.commit()
    pim = page.context.browser.new_context().new_page()
    sign_in_to_console(pim, site, s, authority, smtp_server, pim_id, "2026-11-23T09:00")
    pim.goto(f"{site.url}/console/list")
    assert pim.get_by_role("button", name="Approve the list").count() == 0  # approved already; and a PIM may not
    token = pim.locator("form[action='/sign-out'] input[name=csrf_token]").input_value()
    refused = pim.request.post(f"{site.url}/console/list/approve", form={"csrf_token": token, "month": "2026-12"})
    assert refused.status == 409
    cycle = s.scalars(select(AuditCycle).where(AuditCycle.month == DEC)).one()
    assert cycle.list_approved_by_id == manager_id
    s.commit()


def test_the_list_needs_a_signed_in_qa_member(s: Session, authority, site: LiveSite, page: Page) -> None:
    page.goto(f"{site.url}/console/list")
    assert page.url.endswith("/sign-in")
    response = page.request.post(f"{site.url}/console/list/approve", form={"month": "2026-12"})
    assert response.status in (302, 303, 400) and s.scalar(
        select(AuditCycle.list_approved_by_id).where(AuditCycle.month == DEC)) is None
