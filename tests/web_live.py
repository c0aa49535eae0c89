"""A live web application on the test database, served on loopback, and Debian's Chromium to use it.

The settings' base_url is the live server's own address, so the links the cycle mails are links to it; the
web's clock is the test's (a simulation database), moved with `site.clock`.
"""
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from web_app import SECRET
from werkzeug.serving import make_server

from auditcycle.core.settings import Settings
from auditcycle.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
SCREENS = Path(__file__).resolve().parent.parent / "docs" / "screens"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@dataclass
class LiveSite:
    """The running site: its address, the settings the cycle and the site share, and the site's clock."""

    url: str
    settings: Settings
    clock: list[str] = field(default_factory=lambda: ["2026-12-01T09:00"])
    app: Flask | None = None

    def at(self, now: str) -> None:
        """Set the web's clock (a simulation's): the moment its decisions are dated."""
        self.clock[0] = now


@contextmanager
def live_site(settings: Settings, db_url: str) -> Iterator[LiveSite]:
    """Serve the web app on the database at db_url, with links pointing at it; yield the site."""
    holder: list = []
    server = make_server("127.0.0.1", 0, lambda environ, start: holder[0](environ, start), threaded=True)
    # Request threads are joined when the server closes: a request still in its transaction when the test
    # ends would hold locks the next test's clean-up (PostgreSQL's TRUNCATE) waits for.
    server.daemon_threads = False
    server.block_on_close = True
    url = f"http://127.0.0.1:{server.server_port}"
    shared = type(settings)(**{**settings.model_dump(),
        "database_url": db_url, "base_url": url, "web_secret_key": SECRET, "web_cookie_secure": False,
        "simulation": True, "web_council_name": "Testshire Council", "web_service_name": "Case audit"})
    site = LiveSite(url=url, settings=shared)
    app = site.app = create_app(shared)
    app.config["AUDITCYCLE_CLOCK"] = lambda: site.clock[0]
    holder.append(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; missing, the test fails (CI fails on a skip, and so would hide it)."""
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: apt-get install -y chromium (as .ci/run does)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


def axe_violations(page: Page) -> str | None:
    """Run axe's WCAG 2.2 AA rules on the page; return its report if it found any violation."""
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    return results.generate_report() if results.violations_count else None


def check_page(page: Page, name: str, screens: list[tuple[str, bytes]]) -> None:
    """Check the page as every journey's page is checked: axe, 320 px reflow, 200% text; keep its screenshots."""
    assert axe_violations(page) is None, axe_violations(page)
    size = page.viewport_size
    screens.append((f"{name}-desktop.png", page.screenshot(full_page=True)))
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]") == [320, 320]
    page.set_viewport_size({"width": 375, "height": 800})
    screens.append((f"{name}-phone.png", page.screenshot(full_page=True)))
    # 200% text: the root font doubled; nothing may then scroll sideways at a desktop width.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    wide = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    page.evaluate("document.documentElement.style.fontSize = ''")
    assert wide[0] <= wide[1], f"{name} scrolls sideways at 200% text: {wide}"
    if size:
        page.set_viewport_size(size)


def keep_screens(screens: list[tuple[str, bytes]]) -> None:
    """Write the screenshots to docs/screens when AUDITCYCLE_UPDATE_SCREENS=1."""
    import os

    if os.environ.get("AUDITCYCLE_UPDATE_SCREENS") == "1":
        SCREENS.mkdir(parents=True, exist_ok=True)
        for name, data in screens:
            (SCREENS / name).write_bytes(data)


def tab_to(page: Page, *, element_id: str | None = None, text: str | None = None, presses: int = 80) -> None:
    """Press Tab, as a keyboard user would, until the element with that id (or text) has the focus."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused = page.evaluate("[document.activeElement.id, document.activeElement.innerText"
                                " || document.activeElement.value || '']")
        if (element_id is not None and focused[0] == element_id) or (text is not None and focused[1].strip() == text):
            return
    raise AssertionError(f"Tab never reached {element_id or text!r} in {presses} presses")


def sign_in_to_console(page: Page, site: LiveSite, session, engine, smtp_server, staff_id: str, now: str,
                       lands: str = "/console") -> None:
    """Sign a member of staff in to the console as they would: the invite's link, then its button; they land on
    their first page (This month for the QA team)."""
    from mail_links import labelled_link

    from auditcycle.console.sign_in import invite
    from auditcycle.core.context import build_context
    from auditcycle.notifications.gateway import deliver

    site.at(now)
    address = invite(session, build_context(now, settings=site.settings), staff_id)
    session.commit()
    deliver(engine=engine, settings=site.settings)
    [mail] = [r.message for r in smtp_server.received if r.rcpt_tos == [address]
              and r.message["Subject"] == "Your link to sign in to the audit console"][-1:]
    page.goto(labelled_link(mail, "Sign in to the console"))
    page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith(lands), page.url


def path_of(url: str, site: LiveSite) -> str:
    """Return a mailed link as an address on the live site (it already is one: checked here)."""
    assert url.startswith(site.url + "/act/"), url
    return url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for a test module."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def site(authority, db_url: str, settings) -> Iterator[LiveSite]:
    """The web app live on the test database (the seeded authority), its links pointing at it."""
    with live_site(settings, db_url) as live:
        yield live


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (its own cookies) at desktop width."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()
