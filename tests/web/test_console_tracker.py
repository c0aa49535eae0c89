"""The console's tracker in Chromium: a QA manager filters, sorts and downloads the audits (hostile names arrive in
the spreadsheet as text), follows the Immediate Responses' clocks and finds it all in the access log; a team
manager sees only their team, and is told a QA page is not theirs. Paging and bad filters through Flask's client.
"""
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_world import DEC, NOW, build_world, child_name
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_app import SECRET
from web_live import LiveSite, check_page, keep_screens, sign_in_to_console

from auditcycle.console.sessions import start_session
from auditcycle.core.context import build_context
from auditcycle.models import AccessLogEntry, Audit, ImmediateResponse, Team
from auditcycle.models.enums import ResponseStatus
from auditcycle.sampling.cycle import draw
from auditcycle.web import create_app
from auditcycle.web.journeys.sign_in import SESSION_KEY

# What a spreadsheet would run, or read as a formula, if a cell began with it (OWASP's list).
HOSTILE = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tTabbed", "\rReturned"]
HOSTILE_TEAM = "=cmd|' /C calc'!A0"


def _hostile(s: Session, team_id: int) -> dict[str, str]:
    """Give the team a hostile name, its audited children hostile first names and, with the starts left over,
    their auditors hostile names; return each case's child's name."""
    s.get(Team, team_id).name = HOSTILE_TEAM
    audits = list(s.scalars(select(Audit).where(Audit.team_id == team_id).order_by(Audit.id)))
    names = {}
    for audit, first in zip(audits, HOSTILE):
        audit.child.first_name = first
        names[audit.child_id] = f"{first} {audit.child.last_name}"
    for audit, start in zip(audits, HOSTILE[len(audits):]):
        audit.auditor.name = f"{start} Auditor"
    s.commit()
    assert len(audits) >= len(HOSTILE) / 2
    return names


def _case_ids(page: Page) -> list[str]:
    return [re.match(r"C\d+", cell).group(0) for cell in
            page.locator("table tbody tr td:nth-child(3)").all_inner_texts()]


def test_a_qa_manager_filters_sorts_and_downloads_the_audits_safe_for_a_spreadsheet(
        s: Session, authority, site: LiveSite, smtp_server, page: Page, tmp_path: Path) -> None:
    world = build_world(s, site.settings)
    team_id = next(a.team_id for a in world.audits.values() if a.key_worker_id == world.people["practitioner"])
    open_irs = s.scalar(select(func.count()).select_from(ImmediateResponse)
                        .where(ImmediateResponse.status == ResponseStatus.OPEN))
    names = _hostile(s, team_id)
    in_team = sorted(names)
    manager = world.people["qa_manager"]
    sign_in_to_console(page, site, s, authority, smtp_server, manager, NOW)
    screens: list[tuple[str, bytes]] = []

    page.get_by_role("link", name="Tracker").click()
    page.wait_for_url("**/console/tracker")
    everything = page.locator("main").inner_text()
    check_page(page, "console-tracker", screens)
    assert f"{len(world.audits)} audits." in everything and "Every service" in everything
    assert page.locator("th[aria-sort]").inner_text().startswith("Month")

    page.get_by_label("Team").select_option(label=HOSTILE_TEAM)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(f"**team={team_id}**")
    page.get_by_role("link", name="Child").click()
    page.wait_for_url("**sort=case")
    ascending = _case_ids(page)
    header = page.locator("th[aria-sort]")
    assert header.get_attribute("aria-sort") == "ascending" and header.inner_text().startswith("Child")
    page.get_by_role("link", name="Child").click()
    page.wait_for_url("**order=desc")
    descending = _case_ids(page)
    check_page(page, "console-tracker-filtered", screens)

    assert page.locator("th[aria-sort]").get_attribute("aria-sort") == "descending"
    assert f"team={team_id}" in page.url and "sort=case" in page.url and "order=desc" in page.url
    assert ascending == sorted(in_team) and descending == sorted(in_team, reverse=True)
    assert page.get_by_label("Team").input_value() == str(team_id)  # the filter kept by the sort's link
    shown = page.locator("main").inner_text()
    assert all(name.strip() in shown for name in names.values())

    with page.expect_download() as downloading:
        page.get_by_role("link", name=re.compile("as a spreadsheet")).click()
    download = downloading.value
    raw = Path(download.path()).read_bytes()
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))

    assert download.suggested_filename == "tracker-audits.csv" and raw.startswith(b"\xef\xbb\xbf")
    assert [r["case_id"] for r in rows] == sorted(in_team, reverse=True)
    assert {r["child_name"] for r in rows} == {f"'{name}" for name in names.values()}
    assert {r["team"] for r in rows} == {f"'{HOSTILE_TEAM}"}
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r.values())
    cells = [cell for r in rows for cell in r.values()]
    assert all(any(cell.startswith(f"'{start}") for cell in cells) for start in HOSTILE)  # each start, made text

    page.get_by_role("link", name="Immediate Responses").click()
    page.wait_for_url("**/console/tracker/responses")
    clocks = page.locator("main").inner_text()
    check_page(page, "console-tracker-responses", screens)
    assert "1 h left" in clocks and f"{open_irs} Immediate Responses." in clocks

    page.get_by_role("link", name="Access log").click()
    page.get_by_label("Member of staff").fill(manager)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(f"**staff={manager}**")
    log = page.locator("main").inner_text()
    check_page(page, "console-access-log", screens)
    assert "Exported tracker: audits" in log and "Viewed tracker: audits" in log
    assert s.scalar(select(AccessLogEntry.kind).order_by(AccessLogEntry.id.desc()).limit(1)) == "view"  # responses
    s.commit()
    keep_screens(screens)


def test_a_team_manager_sees_only_their_team_and_no_qa_page(
        s: Session, authority, site: LiveSite, smtp_server, page: Page) -> None:
    world = build_world(s, site.settings)
    manager = world.people["team_manager"]
    sign_in_to_console(page, site, s, authority, smtp_server, manager, NOW, lands="/console/tracker")
    screens: list[tuple[str, bytes]] = []

    shown = page.locator("main").inner_text()
    nav = page.locator(".govuk-service-navigation__list").inner_text().split("\n")
    check_page(page, "console-tracker-team-manager", screens)
    mine = world.case_ids("team_manager")

    assert nav == ["Tracker"] and "Your team:" in shown
    assert set(_case_ids(page)) == mine and len(mine) < len(world.audits)
    assert all(child_name(case) in shown for case in mine)
    assert not any(child_name(a.case_id) in shown for a in world.audits.values() if a.case_id not in mine)

    response = page.goto(f"{site.url}/console/mail")
    refused = page.locator("main").inner_text()
    check_page(page, "console-forbidden", screens)
    assert response.status == 403 and "This page is only for the QA team." in refused
    keep_screens(screens)


@pytest.fixture
def clock() -> list[str]:
    """The web's clock, moved by the test."""
    return [NOW]


@pytest.fixture
def app(authority, db_url: str, settings, clock: list[str]) -> Iterator[Flask]:
    """The web app on the seeded authority, at the test's clock."""
    shared = type(settings)(**{**settings.model_dump(), "database_url": db_url, "base_url": "http://localhost",
                               "web_secret_key": SECRET, "web_cookie_secure": False, "simulation": True})
    web = create_app(shared)
    web.config["AUDITCYCLE_CLOCK"] = lambda: clock[0]
    yield web


def _signed_in(app: Flask, s: Session, staff_id: str, now: str = NOW):  # noqa: ANN202
    client = app.test_client()
    token = start_session(s, build_context(now, settings=app.config["AUDITCYCLE_SETTINGS"]), staff_id=staff_id,
                          method="link")
    s.commit()
    with client.session_transaction() as cookie:
        cookie[SESSION_KEY] = token
    return client


def test_a_large_tracker_is_paged_and_each_page_keeps_the_filters(s: Session, app: Flask) -> None:
    world = build_world(s, app.config["AUDITCYCLE_SETTINGS"])
    draw(s, build_context("2026-12-21T09:00", settings=app.config["AUDITCYCLE_SETTINGS"]), month=DEC.next(),
         size=30, seed=4)
    s.commit()
    total = s.scalar(select(func.count()).select_from(Audit))
    qa = _signed_in(app, s, world.people["qa_manager"])

    first = qa.get("/console/tracker?sort=audit").get_data(as_text=True)
    second = qa.get("/console/tracker?sort=audit&page=2").get_data(as_text=True)
    beyond = qa.get("/console/tracker?sort=audit&page=99").get_data(as_text=True)

    assert total > 50
    assert f"{total} audits, 1 to 50 shown." in first
    assert f"{total} audits, 51 to {total} shown." in second and f"{total} audits, 51 to {total} shown." in beyond
    assert 'href="/console/tracker?sort=audit&amp;page=2"' in first
    refs = re.findall(r'<th scope="row" class="govuk-table__header app-nowrap">(A-[\d-]+)</th>', first + second)
    assert refs == sorted(refs) and len(refs) == total


def test_bad_filters_are_named_and_nothing_is_listed_or_exported(s: Session, app: Flask, clock: list[str]) -> None:
    world = build_world(s, app.config["AUDITCYCLE_SETTINGS"])
    qa = _signed_in(app, s, world.people["qa_manager"])

    bad = qa.get("/console/tracker?month=2026-13&team=nope&status=lost&grade=great&overdue=maybe&page=0")
    page = bad.get_data(as_text=True)
    export = qa.get("/console/tracker/audits.csv?status=lost")
    unknown = qa.get("/console/tracker/children.csv")
    clock[0] = "2026-12-15T11:30"  # the Immediate Responses raised at 11:00 yesterday: now half an hour late
    late = _signed_in(app, s, world.people["qa_manager"], clock[0]).get(
        "/console/tracker/responses?overdue=yes").get_data(as_text=True)
    due = select(func.count()).select_from(ImmediateResponse).where(
        ImmediateResponse.status == ResponseStatus.OPEN, ImmediateResponse.deadline_at <= build_context(clock[0]).now)
    half_hour = s.scalar(due.where(ImmediateResponse.deadline_at > build_context("2026-12-15T10:59").now))

    assert bad.status_code == 400 and "<title>Error: " in page
    for field, said in [("month", "Choose a month from the list"), ("team", "Choose a team from the list"),
                        ("status", "Choose a status from the list"), ("grade", "Choose a grade from the list"),
                        ("overdue", "Overdue is either ticked or not")]:
        assert f'href="#{field}">{said}' in page, field
    assert "The page is a whole number, 1 or more" in page  # a link's, not a field's: said, linked to nothing
    assert "<tbody" not in page
    assert export.status_code == 400 and export.content_type.startswith("text/html")
    assert unknown.status_code == 404
    assert f"{s.scalar(due)} Immediate Responses." in late and late.count("Overdue by 30 min") == half_hour >= 2
    assert s.scalars(select(AccessLogEntry.page)).all() == ["tracker: responses"]
