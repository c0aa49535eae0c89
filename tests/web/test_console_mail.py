"""The console's mail page: a refused message (a real 550) retried once, and a fresh link sent once for what a message asked."""
from mail_links import body_text, labelled_link, link_urls
from playwright.sync_api import Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens, sign_in_to_console

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.models import Event, OutboxMessage, Staff, TrailEntry
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
    # The rows written only at the commit (the event's) are in the trail as the signed-in person's too.
    retried_trail = s.scalars(select(TrailEntry).where(TrailEntry.entity == "event").order_by(TrailEntry.id.desc())).first()
    assert retried_trail.actor == manager_id
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


def test_a_fresh_link_is_sent_once_for_what_a_message_asked_and_the_old_link_stops_working(
        s: Session, authority, site: LiveSite, smtp_server, page: Page) -> None:
    managers = s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER, Staff.active).order_by(Staff.id)).all()
    me, other = managers[0].id, managers[-1]
    other_email, other_name = other.email, other.name
    draw(s, build_context("2026-11-23T07:00", settings=site.settings), month=DEC, size=3, seed=3)
    s.commit()
    deliver(engine=authority, settings=site.settings)
    [listed] = [r.message for r in smtp_server.received if r.rcpt_tos == [other_email]]
    old_url = labelled_link(listed, "Review and approve the list")
    message_id = s.scalar(select(OutboxMessage.id).where(OutboxMessage.template == "drawn_list",
                                                         OutboxMessage.recipient_email == other_email))
    ref = f"M{message_id:06d}"
    s.commit()
    sign_in_to_console(page, site, s, authority, smtp_server, me, "2026-11-23T08:30")
    smtp_server.received.clear()
    screens: list[tuple[str, bytes]] = []

    page.goto(f"{site.url}/console/mail?q={ref}")
    other_tab = page.context.new_page()
    other_tab.goto(page.url)
    check_page(page, "console-mail-resend", screens)
    page.get_by_role("button", name=f"Send a fresh link for {ref}").click()
    sent = page.locator("main").inner_text()
    other_tab.get_by_role("button", name=f"Send a fresh link for {ref}").click()
    twice = other_tab.locator(".govuk-error-summary").inner_text()
    keep_screens(screens)

    assert f"A fresh link is on its way to {other_email}" in sent and f"in {ref} no longer work" in sent
    assert f"Fresh links for {ref} were sent after this page was opened. Nothing more was sent" in twice
    assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "links-resent")) == 1
    assert s.scalar(select(Event.actor_id).where(Event.kind == "links-resent")) == me
    s.commit()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    [fresh] = [r.message for r in smtp_server.received if r.rcpt_tos == [other_email]]
    assert len(smtp_server.received) == 1 and f"Dear {other_name}" in body_text(fresh)
    new_url = link_urls(fresh)[0]
    assert new_url != old_url

    page.goto(old_url)
    assert "A newer link for this was mailed to you" in page.locator("main").inner_text()
    assert "Approve the list" not in page.get_by_role("button").all_inner_texts()
    page.goto(new_url)
    assert "Approve the list" in page.get_by_role("button").all_inner_texts()
    # The sign-in link's message asked only the signed-in person to sign in, which they did: nothing to send.
    page.goto(f"{site.url}/console/mail?q=sign+in+link")
    assert page.get_by_role("button", name="Send a fresh link for").count() == 0
