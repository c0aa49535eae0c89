"""The QA manager reviews the drawn list and approves it from the email that brought it; a second approval is told it was done."""
from mail_links import labelled_link
from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens, tab_to

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.models import AuditCycle, Staff
from auditcycle.models.enums import Role
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw, monthly_cycle

DEC = Month(2026, 12)


def test_a_qa_manager_approves_the_list_and_another_is_told_it_is_done(
        s: Session, authority, site: LiveSite, smtp_server, page: Page) -> None:
    managers = list(s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER, Staff.active).order_by(Staff.id)))
    s.add(Staff(id="S9999", name="Quinn Second", email="quinn.second@council.example", role=Role.QA_MANAGER,
                team_id=managers[0].team_id, service_id=managers[0].service_id, active=True))
    s.commit()
    draw(s, build_context("2026-11-23T07:00", settings=site.settings), month=DEC, size=4, seed=3)
    s.commit()
    emails = [m.email for m in s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER, Staff.active)
                                         .order_by(Staff.id))]
    first_name = managers[0].name
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    lists = {r.rcpt_tos[0]: r.message for r in smtp_server.received if "audit list to review" in r.message["Subject"]}
    assert set(lists) == set(emails)
    site.at("2026-11-23T08:30")
    screens: list[tuple[str, bytes]] = []

    page.goto(labelled_link(lists[emails[0]], "Review and approve the list"))
    shown = page.locator("main").inner_text()
    check_page(page, "approve-list", screens)
    page.get_by_role("button", name="Approve the list").click()
    done = page.locator("main").inner_text()
    page.goto(labelled_link(lists[emails[1]], "Review and approve the list"))
    page.get_by_role("button", name="Approve the list").click()
    second = page.locator("main").inner_text()

    assert "4 audits" in shown and "A-2026-12-001" in shown
    assert "The December 2026 list is approved" in done
    assert f"already approved by {first_name} at 08:30 on Monday 23 November 2026" in second
    cycle = monthly_cycle(s, DEC)
    s.refresh(cycle)
    assert cycle.list_approved_by_id == managers[0].id
    assert s.scalar(select(AuditCycle.list_approved_at).where(AuditCycle.id == cycle.id)) is not None
    s.commit()
    keep_screens(screens)


def test_the_list_is_approved_by_keyboard_alone(s: Session, authority, site: LiveSite, smtp_server, page: Page) -> None:
    draw(s, build_context("2026-11-23T07:00", settings=site.settings), month=DEC, size=4, seed=3)
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    [first, *_] = [r.message for r in smtp_server.received if "audit list to review" in r.message["Subject"]]
    site.at("2026-11-23T08:30")

    page.goto(labelled_link(first, "Review and approve the list"))
    tab_to(page, text="Approve the list")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert "The December 2026 list is approved" in page.locator("main").inner_text()
    cycle = monthly_cycle(s, DEC)
    s.refresh(cycle)
    assert cycle.list_approved_by_id is not None
    s.commit()
