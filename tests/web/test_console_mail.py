"""The console's mail page: a message refused by the mail server (a real 550) is found and sent again, once."""
from playwright.sync_api import Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens, sign_in_to_console

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.models import Event, OutboxMessage, Staff
from auditcycle.models.enums import MessageStatus, Role
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw

DEC = Month(2026, 12)


def test_a_refused_message_is_found_retried_once_and_delivered(
        s: Session, authority, site: LiveSite, smtp_server, page: Page) -> None:
    manager = s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER, Staff.active).order_by(Staff.id)).first()
    manager_id, address = manager.id, manager.email
    draw(s, build_context("2026-11-23T07:00", settings=site.settings), month=DEC, size=3, seed=3)
    s.commit()
    smtp_server.handler.replies = ["550 5.1.1 Mailbox unavailable"]  # the drawn list to the first QA manager
    deliver(engine=authority, settings=site.settings)
    failed = s.scalars(select(OutboxMessage).where(OutboxMessage.status == MessageStatus.FAILED)).all()
    assert [m.template for m in failed] == ["drawn_list"]
    ref, failed_to = f"M{failed[0].id:06d}", failed[0].recipient_email
    s.commit()
    sign_in_to_console(page, site, s, authority, smtp_server, manager_id, "2026-11-23T08:30")
    screens: list[tuple[str, bytes]] = []

    page.get_by_role("link", name="Mail").click()
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Search").click()
    shown = page.locator("main").inner_text()
    check_page(page, "console-mail", screens)
    assert "1 message." in shown and ref in shown and "550" in shown and failed_to in shown

    other = page.context.new_page()
    other.goto(page.url)
    page.get_by_role("button", name=f"Retry {ref}").click()
    retried = page.locator("main").inner_text()
    other.get_by_role("button", name=f"Retry {ref}").click()
    twice = other.locator(".govuk-error-summary").inner_text()

    assert f"{ref} is back in the queue" in retried
    assert f"{ref} is pending, not failed, so there is nothing to retry. Nothing was changed." in twice
    assert s.scalar(select(Event.actor_id).where(Event.kind == "mail-retried")) == manager_id
    assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "mail-retried")) == 1
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    assert [r.rcpt_tos for r in smtp_server.received] == [[failed_to]]
    assert s.scalar(select(OutboxMessage.status).where(OutboxMessage.id == int(ref[1:]))) == MessageStatus.SENT
    s.commit()

    page.goto(f"{site.url}/console/mail?q={address.split('@')[0].upper()}")
    found = page.locator("main").inner_text()
    assert address in found and "Sent" in found
    keep_screens(screens)
