"""The web application in a real browser (Debian's Chromium): axe's WCAG 2.2 AA checks, reflow, keyboard, CSP."""
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright
from web_app import web_settings
from werkzeug.serving import make_server

from auditcycle.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PAGES = {"index": "/", "accessibility": "/accessibility", "not-found": "/no-such-page"}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """Serve the app on a loopback port from a thread; cookies over plain http, as only a local test may."""
    server = make_server("127.0.0.1", 0, create_app(web_settings(web_cookie_secure=False)), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; missing, the test fails (CI fails on a skip, and so would hide it)."""
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: apt-get install -y chromium (as .ci/run does)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shared_page(browser: Browser) -> Iterator[Page]:
    """One page for the module (a new browser context costs half a second), recording console errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.console_errors = []  # type: ignore[attr-defined]
    opened.on("console", lambda msg: msg.type == "error" and opened.console_errors.append(msg.text))
    yield opened
    context.close()


@pytest.fixture
def page(shared_page: Page) -> Page:
    """The module's page at desktop width with no console error recorded yet (a CSP refusal is one)."""
    shared_page.set_viewport_size({"width": 1280, "height": 800})
    shared_page.console_errors.clear()  # type: ignore[attr-defined]
    return shared_page


@pytest.mark.parametrize("name", sorted(PAGES))
def test_the_page_has_no_wcag_22_aa_violation_axe_can_find(page: Page, base_url: str, name: str) -> None:
    page.goto(base_url + PAGES[name])

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})

    assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize("name", sorted(PAGES))
def test_the_page_reflows_at_320_css_pixels_without_scrolling_sideways(page: Page, base_url: str, name: str) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(base_url + PAGES[name])

    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")

    assert widths == [320, 320]


def test_the_first_tab_reaches_the_skip_link_and_it_moves_focus_to_the_main_content(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")

    page.keyboard.press("Tab")
    first = page.evaluate("[document.activeElement.className, document.activeElement.textContent.trim()]")
    page.keyboard.press("Enter")

    assert first == ["govuk-skip-link", "Skip to main content"]
    assert page.evaluate("document.activeElement.id") == "main-content"


def test_gov_uk_frontend_runs_under_the_content_security_policy(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")

    body_classes = page.evaluate("document.body.className").split()
    skip_link_started = page.get_attribute(".govuk-skip-link", "data-govuk-skip-link-init")

    # The inline script ran with its nonce, and the module script started the components.
    assert {"js-enabled", "govuk-frontend-supported"} <= set(body_classes)
    assert skip_link_started == ""
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_the_pages_screenshot_at_desktop_and_phone_widths(page: Page, base_url: str, tmp_path: Path) -> None:
    """Take each page at 1280 and 375 CSS px; AUDITCYCLE_UPDATE_SCREENS=1 keeps them in docs/screens."""
    shots = []
    for width, label in ((1280, "desktop"), (375, "phone")):
        page.set_viewport_size({"width": width, "height": 800})
        for name in ("index", "accessibility"):
            page.goto(base_url + PAGES[name])
            path = tmp_path / f"{name}-{label}.png"
            page.screenshot(path=str(path), full_page=True)
            shots.append(path)

    assert [p.stat().st_size > 10_000 for p in shots] == [True] * 4
    if os.environ.get("AUDITCYCLE_UPDATE_SCREENS") == "1":
        SCREENS.mkdir(parents=True, exist_ok=True)
        for path in shots:
            shutil.copy(path, SCREENS / path.name)
