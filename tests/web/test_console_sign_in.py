"""Signing in to the QA console with a mailed link, the month at a glance, and the session's end, in Chromium."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from mail_links import labelled_link
from playwright.sync_api import Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens, tab_to

from auditcycle.console.sign_in import invite
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.models import Event, Link, OutboxMessage, Staff, StaffSession
from auditcycle.models.enums import Role
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw

DEC = Month(2026, 12)
LABEL = "Sign in to the console"


def _qa_manager(s: Session) -> Staff:
    return s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER, Staff.active).order_by(Staff.id)).first()


def _sessions(s: Session) -> list[tuple]:
    rows = [(r.staff_id, r.method, r.ended_at is not None, r.end_reason) for r in s.scalars(
        select(StaffSession).order_by(StaffSession.started_at).execution_options(populate_existing=True))]
    s.commit()  # on SQLite a read keeps the site from writing
    return rows


def _invited(s: Session, authority, site: LiveSite, smtp_server, staff: Staff, now: str) -> str:
    address = staff.email
    invite(s, build_context(now, settings=site.settings), staff.id)
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    [mail] = [r.message for r in smtp_server.received
              if r.rcpt_tos == [address] and r.message["Subject"] == "Your link to sign in to the audit console"]
    return labelled_link(mail, LABEL)


def test_a_qa_manager_signs_in_from_the_mailed_link_sees_the_month_and_signs_out(
        s: Session, authority, site: LiveSite, smtp_server, page: Page) -> None:
    draw(s, build_context("2026-11-23T07:00", settings=site.settings), month=DEC, size=4, seed=3)
    manager = _qa_manager(s)
    name = manager.name
    s.commit()
    site.at("2026-12-01T09:00")
    url = _invited(s, authority, site, smtp_server, manager, "2026-12-01T09:00")
    screens: list[tuple[str, bytes]] = []

    page.goto(url)
    shown = page.locator("main").inner_text()
    check_page(page, "console-sign-in-link", screens)
    assert page.request.head(url).status == 200
    assert _sessions(s) == []  # opening the link, as a mail scanner would, signs no one in

    page.get_by_role("button", name="Sign in").click()
    month = page.locator("main").inner_text()
    header = page.locator(".app-signed-in").inner_text()
    check_page(page, "console-month", screens)

    assert f"as {name}" in shown
    assert page.url.endswith("/console") and "December 2026" in month
    assert "Drawn\n4" in month and "Notified\n0" in month and "Overdue\n0" in month
    assert "sample" in month and "Not run yet" in month
    assert f"Signed in as {name}" in header
    assert _sessions(s) == [(manager.id, "link", False, None)]

    page.goto(url)  # the link again: used
    again = page.locator("main").inner_text()
    assert f"already done by {name} at 09:00 on Tuesday 1 December 2026" in again.replace("This was already", "already")

    page.goto(f"{site.url}/console")
    page.get_by_role("button", name="Sign out").click()
    out = page.locator("main").inner_text()
    check_page(page, "console-sign-in", screens)
    page.goto(f"{site.url}/console")

    assert "You have signed out." in out
    assert page.url.endswith("/sign-in")
    assert _sessions(s) == [(manager.id, "link", True, "signed out")]
    assert [k for k in s.scalars(select(Event.kind).where(Event.subject_ref == "console").order_by(Event.id))] == [
        "signed-in", "signed-out"]
    s.commit()
    keep_screens(screens)


def test_a_session_ends_after_30_idle_minutes_and_after_8_hours_in_all(
        s: Session, authority, site: LiveSite, smtp_server, page: Page) -> None:
    manager = _qa_manager(s)
    s.commit()
    site.at("2026-12-01T09:00")
    page.goto(_invited(s, authority, site, smtp_server, manager, "2026-12-01T09:00"))
    page.get_by_role("button", name="Sign in").click()

    site.at("2026-12-01T09:29")
    page.goto(f"{site.url}/console")
    assert page.url.endswith("/console")
    site.at("2026-12-01T09:59")
    page.goto(f"{site.url}/console")
    idle = page.locator("main").inner_text()

    assert page.url.endswith("/sign-in")
    assert "You were signed out after 30 minutes without activity." in idle
    assert _sessions(s) == [(manager.id, "link", True, "timed out")]

    site.at("2026-12-02T08:00")
    page.goto(_invited(s, authority, site, smtp_server, manager, "2026-12-02T08:00"))
    page.get_by_role("button", name="Sign in").click()
    for step in range(1, 24):  # every 20 minutes from 08:20 to 15:40: never idle for 30
        hour, minute = divmod(8 * 60 + 20 * step, 60)
        site.at(f"2026-12-02T{hour:02d}:{minute:02d}")
        page.goto(f"{site.url}/console")
        assert page.url.endswith("/console"), f"signed out at {hour}:{minute:02d}"
    site.at("2026-12-02T16:00")
    page.goto(f"{site.url}/console")

    assert "You were signed out 8 hours after you signed in." in page.locator("main").inner_text()
    assert [r[2:] for r in _sessions(s)] == [(True, "timed out"), (True, "timed out")]


def test_the_sign_in_page_mails_only_those_who_may_sign_in_once_and_says_the_same_to_anyone(
        s: Session, authority, site: LiveSite, smtp_server, page: Page) -> None:
    manager = _qa_manager(s)
    practitioner = s.scalars(select(Staff).where(Staff.role == Role.KEY_WORKER, Staff.active)).first()
    iro = s.scalars(select(Staff).where(Staff.role == Role.IRO, Staff.active)).first()
    qa_email, worker_email, iro_email = manager.email, practitioner.email, iro.email
    s.commit()
    site.at("2026-12-01T09:00")
    screens: list[tuple[str, bytes]] = []

    page.goto(f"{site.url}/sign-in")
    page.get_by_role("button", name="Send me a sign-in link").click()
    check_page(page, "console-sign-in-errors", screens)
    empty = page.locator(".govuk-error-summary").inner_text()
    page.get_by_label("Your work email address").fill("not an address")
    page.get_by_role("button", name="Send me a sign-in link").click()
    bad = page.locator(".govuk-error-summary").inner_text()
    assert "Enter your work email address" in empty and "Enter an email address like" in bad
    assert page.title().startswith("Error: ")
    assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    s.commit()

    answers = []
    for email in (qa_email.upper(), qa_email, worker_email, iro_email, "nobody@council.example"):
        page.goto(f"{site.url}/sign-in")
        page.get_by_label("Your work email address").fill(email)
        page.get_by_role("button", name="Send me a sign-in link").click()
        answers.append(page.locator("main").inner_text())
    check_page(page, "console-link-sent", screens)
    deliver(engine=authority, settings=site.settings)

    assert len(set(answers)) == 1 and "Check your email" in answers[0]
    # The QA manager asked twice in the minute: one mail; a practitioner may sign in too; an IRO may not.
    assert sorted(r.rcpt_tos for r in smtp_server.received) == sorted([[qa_email], [worker_email]])
    assert s.scalar(select(func.count()).select_from(Link)) == 2
    s.commit()
    keep_screens(screens)


def test_an_expired_link_offers_a_fresh_one_and_a_role_lost_since_signs_no_one_in(
        s: Session, authority, site: LiveSite, smtp_server, page: Page) -> None:
    manager = _qa_manager(s)
    manager_id, address = manager.id, manager.email
    s.commit()
    site.at("2026-12-01T09:00")
    url = _invited(s, authority, site, smtp_server, manager, "2026-12-01T09:00")

    site.at("2026-12-01T09:16")
    page.goto(url)
    expired = page.locator("main").inner_text()
    smtp_server.received.clear()
    page.get_by_role("button", name="Email me a new link").click()
    deliver(engine=authority, settings=site.settings)
    [fresh] = [r.message for r in smtp_server.received if r.rcpt_tos == [address]]

    assert "expired" in expired.lower()
    assert "until 09:31 on Tuesday 1 December 2026" in fresh.get_body(("plain",)).get_content()

    s.get(Staff, manager_id, populate_existing=True).role = Role.IRO
    s.commit()
    page.goto(labelled_link(fresh, "Open the page"))
    page.get_by_role("button", name="Sign in").click()

    refused = page.locator("main").inner_text()
    assert "Only the QA team, assistant directors, service managers, team managers and practitioners may sign " \
           "in to the console" in refused and "(iro) may not console-sign-in" in refused
    assert _sessions(s) == []


def test_signing_in_by_keyboard_alone(s: Session, authority, site: LiveSite, smtp_server, page: Page) -> None:
    manager = _qa_manager(s)
    s.commit()
    site.at("2026-12-01T09:00")
    page.goto(_invited(s, authority, site, smtp_server, manager, "2026-12-01T09:00"))
    tab_to(page, text="Sign in")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, text="Sign out")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert "You have signed out." in page.locator("main").inner_text()
    assert [r[2:] for r in _sessions(s)] == [(True, "signed out")]


def test_web_invite_mails_the_link_before_serving(tmp_path: Path, db_url: str, authority, smtp_server) -> None:
    """`auditcycle web --invite STAFF_ID` mails the sign-in link, says so, then serves."""
    with Session(authority) as s:
        manager = _qa_manager(s)
        staff_id, address = manager.id, manager.email
    (tmp_path / "auditcycle.toml").write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITCYCLE_")} | {
        "AUDITCYCLE_CONFIG": str(tmp_path / "auditcycle.toml"), "AUDITCYCLE_DATABASE_URL": db_url,
        "AUDITCYCLE_SMTP_HOST": "127.0.0.1", "AUDITCYCLE_SMTP_PORT": str(smtp_server.port),
        "AUDITCYCLE_WEB_SECRET_KEY": "s" * 32, "AUDITCYCLE_SIMULATION": "1"}
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    server = subprocess.Popen([str(Path(sys.executable).parent / "auditcycle"), "web", "--port", str(port), "--workers", "1",
                               "--invite", staff_id], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        line = server.stdout.readline()
    finally:
        server.terminate()
        server.wait(30)

    assert f"A sign-in link to the console is on its way to {address}" in line
    assert [r.rcpt_tos for r in smtp_server.received] == [[address]]
    assert "/act/" not in line  # the link itself is never printed


@pytest.mark.parametrize("who", ["nobody", "iro", "leaver"])
def test_web_invite_refuses_anyone_who_may_not_sign_in(tmp_path: Path, db_url: str, authority, smtp_server,
                                                       who: str) -> None:
    with Session(authority) as s:
        iro = s.scalars(select(Staff).where(Staff.role == Role.IRO, Staff.active)).first()
        leaver = s.scalars(select(Staff).where(Staff.role == Role.KEY_WORKER, Staff.active)).first()
        leaver.active = False
        s.commit()
        staff_id = {"nobody": "S-NOBODY", "iro": iro.id, "leaver": leaver.id}[who]
    (tmp_path / "auditcycle.toml").write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITCYCLE_")} | {
        "AUDITCYCLE_CONFIG": str(tmp_path / "auditcycle.toml"), "AUDITCYCLE_DATABASE_URL": db_url,
        "AUDITCYCLE_WEB_SECRET_KEY": "s" * 32, "AUDITCYCLE_SIMULATION": "1"}
    result = subprocess.run([str(Path(sys.executable).parent / "auditcycle"), "web", "--invite", staff_id],
                            env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 1
    assert ("may not sign in to the console" if who == "iro" else "no active member of staff has that id") \
        in result.stderr
    with Session(authority) as s:
        assert s.scalar(select(func.count()).select_from(Link)) == 0
