"""Every role against every console page, as a table: the status each gets and what each is shown.

Each person is signed in with a real session (auditcycle/console/sessions.start_session) on the seeded
authority, and asks each page through Flask's test client. The table has one row per page: a page added to
the console adds its row (path, who may open it, and what those who may are shown).
"""
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html import unescape

import pytest
from console_world import NAMED, NOW, QA, STAFF, World, actions_of, build_world, child_name, responses_of
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_app import SECRET

from auditcycle.console.sessions import start_session
from auditcycle.core.context import build_context
from auditcycle.core.errors import PermissionDenied
from auditcycle.models import AccessLogEntry, Staff
from auditcycle.models.enums import CycleKind
from auditcycle.sampling.requests import Asked, store_request
from auditcycle.web import create_app
from auditcycle.web.journeys.sign_in import SESSION_KEY

ROLES = ("qa_manager", "qa_officer", "assistant_director", "service_manager", "team_manager", "practitioner",
         "iro", "leaver", "not signed in")
NAV = {"This month", "The list", "Deep dive", "Moderation", "Report", "Mail", "Tracker", "Access log"}
CASE_ID = re.compile(r"\bC\d+\b")


@dataclass(frozen=True)
class Shown:
    """One page as a role got it."""

    role: str
    status: int
    body: str
    content_type: str
    location: str

    @property
    def text(self) -> str:
        """Return the page's words, without its markup."""
        return unescape(re.sub(r"<[^>]+>", " ", self.body))

    @property
    def main(self) -> str:
        """Return the words of the page's main part."""
        found = re.search(r"<main\b.*?</main>", self.body, re.S)
        return unescape(re.sub(r"<[^>]+>", " ", found.group(0))) if found else ""

    @property
    def nav(self) -> set[str]:
        """Return the names of the pages the navigation offers."""
        listed = re.search(r'<ul class="govuk-service-navigation__list".*?</ul>', self.body, re.S)
        return {unescape(t.strip()) for t in re.findall(
            r'class="govuk-service-navigation__link"[^>]*>\s*(?:<strong[^>]*>)?\s*([^<]+?)\s*<',
            listed.group(0) if listed else "")}


def _none(world: World, shown: Shown) -> list[str]:
    return []


def _case_ids_and_names(world: World, shown: Shown, expected: set[str]) -> list[str]:
    """Check the page shows exactly these case ids, with names only to those who may see them."""
    wrong = []
    found = set(CASE_ID.findall(shown.main))
    if found != expected:
        wrong.append(f"case ids {sorted(found)} instead of {sorted(expected)}")
    every = {a.case_id for a in world.audits.values()}
    named = {case for case in every if child_name(case) in shown.body}
    want = expected if shown.role in NAMED else set()
    if named != want:
        wrong.append(f"names of {sorted(named)} instead of {sorted(want)}")
    return wrong


def _audits(world: World, shown: Shown) -> list[str]:
    wrong = _case_ids_and_names(world, shown, world.case_ids(shown.role))
    if shown.nav != (NAV if shown.role in QA else {"Tracker"}):
        wrong.append(f"navigation {sorted(shown.nav)}")
    return wrong


def _responses(world: World, shown: Shown) -> list[str]:
    seen = {ref for ref, audit in world.responses.items() if world.sees(shown.role, world.audits[audit])}
    found = set(re.findall(r"\bIR-A-\d{4}-\d\d-\d{3}-\d+", shown.main))
    wrong = [] if found == seen else [f"responses {sorted(found)} instead of {sorted(seen)}"]
    cases = {world.audits[world.responses[ref]].case_id for ref in seen}
    return wrong + _case_ids_and_names(world, shown, cases)


def _actions(world: World, shown: Shown) -> list[str]:
    me = world.people[shown.role]
    seen = {ref for ref, (audit, owner) in world.actions.items()
            if world.sees(shown.role, world.audits[audit]) or (shown.role not in QA and (
                owner == me or (shown.role == "team_manager" and world.managers.get(owner) == me)))}
    found = set(re.findall(r"\bA-\d{4}-\d\d-\d{3}-ACT\d+", shown.main))
    names = [case for case in world.case_ids("qa_manager") if child_name(case) in shown.body]
    return ([] if found == seen else [f"actions {sorted(found)} instead of {sorted(seen)}"]) + (
        [f"names shown on the actions: {names}"] if names else [])


def _export(world: World, shown: Shown) -> list[str]:
    if not shown.content_type.startswith("text/csv"):
        return [f"a {shown.content_type} export"]
    rows = list(csv.DictReader(io.StringIO(shown.body.lstrip("\ufeff"))))
    wrong = []
    if {r["case_id"] for r in rows} != world.case_ids(shown.role):
        wrong.append(f"exported {sorted(r['case_id'] for r in rows)}")
    named = shown.role in NAMED
    if named != ("child_name" in (rows[0] if rows else {})):
        wrong.append("child_name column " + ("missing" if named else "present"))
    if named and any(r["child_name"] != child_name(r["case_id"]) for r in rows):
        wrong.append("a child's name is not theirs")
    return wrong


def _month(world: World, shown: Shown) -> list[str]:
    return [] if "Immediate Responses open" in shown.main and shown.nav == NAV else [f"month page: {shown.nav}"]


def _deep_dive(world: World, shown: Shown) -> list[str]:
    return [] if "Ask for a deep dive or dip sample" in shown.main and "REQ-1" in shown.main else ["no deep dive form"]


def _deep_dive_progress(world: World, shown: Shown) -> list[str]:
    return [] if "Deep dive REQ-1" in shown.main and "Progress" in shown.main else ["no deep dive progress"]


def _access_log(world: World, shown: Shown) -> list[str]:
    return [] if "Access log" in shown.main and "Case ids" in shown.main else ["no access log table"]


@dataclass(frozen=True)
class Row:
    """One console page: its path, who may open it, and what each of them is shown (a list of what is wrong)."""

    page: str
    path: str
    allowed: frozenset[str]
    shows: Callable[[World, Shown], list[str]] = _none


PAGES = [
    Row("home (This month)", "/console?month=2026-12", QA, _month),
    Row("the list", "/console/list?month=2026-12", QA),
    Row("moderation", "/console/moderation?month=2026-12", QA),
    Row("the report", "/console/report?month=2026-12", QA),
    Row("the report's preview", "/console/report/preview?month=2026-12", QA),
    Row("mail", "/console/mail", QA),
    Row("tracker: audits", "/console/tracker?month=2026-12", STAFF, _audits),
    Row("tracker: actions", "/console/tracker/actions", STAFF, _actions),
    Row("Immediate Responses", "/console/tracker/responses?status=any", STAFF, _responses),
    Row("CSV export of audits", "/console/tracker/audits.csv?month=2026-12", STAFF, _export),
    Row("access log", "/console/access-log", QA, _access_log),
    Row("deep dive or dip sample", "/console/deep-dive", QA, _deep_dive),
    Row("a deep dive's progress", "/console/deep-dive/REQ-1", QA, _deep_dive_progress),
]


@pytest.fixture
def app(authority, db_url: str, settings) -> Iterator[Flask]:
    """The web app on the seeded authority, at the world's clock."""
    shared = type(settings)(**{**settings.model_dump(), "database_url": db_url, "base_url": "http://localhost",
                               "web_secret_key": SECRET, "web_cookie_secure": False, "simulation": True})
    web = create_app(shared)
    web.config["AUDITCYCLE_CLOCK"] = lambda: NOW
    yield web


def _client(app: Flask, s: Session, world: World, role: str):  # noqa: ANN202
    """Return a browser for the role: signed in with a real session, or (not signed in, an IRO) with none."""
    client = app.test_client()
    if role in ("not signed in", "iro"):
        return client
    ctx = build_context(NOW, settings=app.config["AUDITCYCLE_SETTINGS"])
    token = start_session(s, ctx, staff_id=world.people[role], method="link")
    if role == "leaver":
        s.get(Staff, world.people[role]).active = False  # left after signing in
    s.commit()
    with client.session_transaction() as cookie:
        cookie[SESSION_KEY] = token
    return client


def _expected(row: Row, role: str) -> int:
    if role in ("not signed in", "iro", "leaver"):
        return 303
    return 200 if role in row.allowed else 403


def test_every_role_against_every_console_page(s: Session, app: Flask) -> None:
    world = build_world(s, app.config["AUDITCYCLE_SETTINGS"])
    world.responses, world.actions = responses_of(s), actions_of(s)
    assert world.responses and world.actions
    ctx = build_context(NOW, settings=app.config["AUDITCYCLE_SETTINGS"])
    due = ctx.timescales.add_working_days(ctx.timescales.today(ctx.now), 5)
    assert store_request(s, ctx, by=world.people["qa_manager"], asked=Asked(
        kind=CycleKind.DEEP_DIVE, theme="Neglect", size=2, due=due)) == "REQ-1"  # stored, not started
    s.commit()
    with pytest.raises(PermissionDenied, match="may sign in to the console"):
        start_session(s, ctx, staff_id=world.people["iro"], method="link")
    s.rollback()
    # The scopes differ, so the table can tell them apart.
    seen = {role: world.case_ids(role) for role in STAFF}
    assert seen["practitioner"] < seen["team_manager"] < seen["service_manager"] < seen["qa_manager"]

    wrong: list[str] = []
    for role in ROLES:
        client = _client(app, s, world, role)
        for row in PAGES:
            response = client.get(row.path)
            shown = Shown(role, response.status_code, response.get_data(as_text=True), response.content_type,
                          response.headers.get("Location", ""))
            want = _expected(row, role)
            if shown.status != want:
                wrong.append(f"{role} / {row.page}: {shown.status} instead of {want}")
                continue
            if want == 303 and not shown.location.endswith("/sign-in"):
                wrong.append(f"{role} / {row.page}: sent to {shown.location}")
            elif want == 403 and ("You cannot open this page" not in shown.main or "Tracker" not in shown.nav
                                  or shown.nav & (NAV - {"Tracker"})):
                wrong.append(f"{role} / {row.page}: the 403 page says {shown.main[:200]!r}, offers {shown.nav}")
            elif want == 200:
                wrong += [f"{role} / {row.page}: {problem}" for problem in row.shows(world, shown)]
            # Every page a role may not open keeps the children out of it.
            if want != 200 and any(child_name(case) in shown.body for case in seen["qa_manager"]):
                wrong.append(f"{role} / {row.page}: a child's name on a refused page")

    assert wrong == [], "\n".join(wrong)


def test_the_access_log_holds_each_named_view_and_every_export(s: Session, app: Flask) -> None:
    world = build_world(s, app.config["AUDITCYCLE_SETTINGS"])
    for role in ("team_manager", "assistant_director"):
        client = _client(app, s, world, role)
        assert client.get("/console/tracker?month=2026-12").status_code == 200
        assert client.get("/console/tracker/audits.csv?month=2026-12&sort=due").status_code == 200

    entries = [(e.staff_id, e.kind, e.page, e.query, sorted(r.case_id for r in e.records))
               for e in s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id))]
    tm, ad = world.people["team_manager"], world.people["assistant_director"]
    team_cases, every = sorted(world.case_ids("team_manager")), sorted(world.case_ids("assistant_director"))
    # The assistant director's page showed case ids only: not logged; both exports are.
    assert entries == [
        (tm, "view", "tracker: audits", "month=2026-12", team_cases),
        (tm, "export", "tracker: audits", "month=2026-12&sort=due", team_cases),
        (ad, "export", "tracker: audits", "month=2026-12&sort=due", every),
    ]
    s.commit()

    qa = _client(app, s, world, "qa_manager")
    by_case = qa.get(f"/console/access-log?case={team_cases[0].lower()}").get_data(as_text=True)
    by_staff = qa.get(f"/console/access-log?staff={tm}").get_data(as_text=True)
    other_day = qa.get("/console/access-log?from=16/12/2026").get_data(as_text=True)
    bad = qa.get("/console/access-log?from=30/02/2026&to=yesterday")

    assert "3 accesses." in by_case and "Exported tracker: audits" in by_case
    assert "2 accesses." in by_staff and s.get(Staff, tm).name in by_staff
    assert "0 accesses." in other_day
    assert bad.status_code == 400
    assert "From must be a real date" in bad.get_data(as_text=True)
    assert "To must be a real date" in bad.get_data(as_text=True)
