"""Signing in to the QA console with the council's OpenID Connect service: a real provider on loopback
(oidc-provider-mock), Authlib's client in the site, Chromium between them."""
from collections.abc import Iterator

import pytest
from oidc_provider_mock import User, run_server_in_thread
from playwright.sync_api import Page
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens, live_site

from auditcycle.console.sign_in import invite
from auditcycle.core.context import build_context
from auditcycle.core.errors import UserError
from auditcycle.models import Event, Link, Staff, StaffSession
from auditcycle.models.enums import Role

START = "Sign in with your council account"


@pytest.fixture
def people(authority) -> dict[str, tuple[str, str]]:
    """A QA manager, a key worker, an IRO and two leavers of the seeded authority: staff ids and work emails.

    One leaver left before ever signing in; the other had linked their council account, then left."""
    with Session(authority) as s:
        first = lambda role, n=0: s.scalars(select(Staff).where(Staff.role == role, Staff.active)  # noqa: E731
                                            .order_by(Staff.id)).all()[n]
        qa, kw, iro = first(Role.QA_MANAGER), first(Role.KEY_WORKER), first(Role.IRO)
        leaver, linked = first(Role.KEY_WORKER, 1), first(Role.KEY_WORKER, 2)
        leaver.active = linked.active = False
        linked.oidc_subject = "oid-linked-leaver"
        s.commit()
        return {"qa": (qa.id, qa.email), "kw": (kw.id, kw.email), "iro": (iro.id, iro.email),
                "leaver": (leaver.id, leaver.email), "linked": (linked.id, linked.email)}


@pytest.fixture
def provider(people) -> Iterator[str]:
    """The council's sign-in service: each person's stable id, and the (unverified) email it claims for them."""
    users = [User(sub="oid-qa-1", claims={"email": people["qa"][1]}),
             User(sub="oid-kw-1", claims={"email": people["kw"][1]}),
             User(sub="oid-iro-1", claims={"email": people["iro"][1]}),
             User(sub="oid-leaver", claims={"email": people["leaver"][1]}),
             User(sub="oid-linked-leaver", claims={"email": people["linked"][1]}),
             User(sub="oid-stranger", claims={"email": "stranger@elsewhere.example"})]
    with run_server_in_thread(user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def oidc_site(authority, db_url: str, settings, provider: str) -> Iterator[LiveSite]:
    """The site with the council's sign-in service configured: no sign-in links."""
    configured = settings.model_copy(update={"oidc_issuer": provider, "oidc_client_id": "auditcycle",
                                             "oidc_client_secret": SecretStr("c" * 32)})
    with live_site(configured, db_url) as live:
        yield live


def _sign_in_as(page: Page, site: LiveSite, subject: str) -> str:
    page.goto(f"{site.url}/sign-in")
    page.get_by_role("button", name=START).click()
    page.get_by_role("button", name=subject, exact=True).click()
    return page.locator("main").inner_text()  # waits for the page the service sends the browser back to


def _rows(s: Session) -> list[tuple]:
    rows = [(r.staff_id, r.method, r.end_reason) for r in s.scalars(
        select(StaffSession).order_by(StaffSession.started_at).execution_options(populate_existing=True))]
    s.commit()
    return rows


def test_a_qa_manager_signs_in_with_the_council_account_linked_by_email_once_then_by_id(
        s: Session, authority, oidc_site: LiveSite, people, page: Page) -> None:
    qa_id, _ = people["qa"]
    oidc_site.at("2026-12-01T09:00")
    screens: list[tuple[str, bytes]] = []

    page.goto(f"{oidc_site.url}/sign-in")
    shown = page.locator("main").inner_text()
    check_page(page, "console-sign-in-oidc", screens)
    shown_after = _sign_in_as(page, oidc_site, "oid-qa-1")

    assert "Enter your work email address" not in shown  # no mailed links beside the council's sign-in
    assert page.url.endswith("/console") and "This month" in shown_after
    assert s.get(Staff, qa_id, populate_existing=True).oidc_subject == "oid-qa-1"
    assert _rows(s) == [(qa_id, "oidc", None)]

    page.get_by_role("button", name="Sign out").click()
    # The record's email changes: the person is still known by the id the service gives them.
    s.get(Staff, qa_id).email = "renamed.qa@council.example"
    s.commit()
    _sign_in_as(page, oidc_site, "oid-qa-1")

    assert page.url.endswith("/console")
    assert _rows(s) == [(qa_id, "oidc", "signed out"), (qa_id, "oidc", None)]
    assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "account-linked")) == 1
    s.commit()
    keep_screens(screens)


def test_a_practitioner_signs_in_with_the_council_account_and_opens_the_tracker(
        s: Session, authority, oidc_site: LiveSite, people, page: Page) -> None:
    kw_id, _ = people["kw"]
    oidc_site.at("2026-12-01T09:00")

    shown = _sign_in_as(page, oidc_site, "oid-kw-1")
    nav = page.locator(".govuk-service-navigation__list").inner_text()

    assert page.url.endswith("/console/tracker") and "Your cases" in shown
    assert nav.split() == ["Tracker"]
    assert _rows(s) == [(kw_id, "oidc", None)]


@pytest.mark.parametrize("subject, said", [
    ("oid-iro-1", "(iro) may not console-sign-in"),
    ("oid-stranger", "Your council account is not linked to a member of staff here"),
    ("oid-leaver", "Your council account is not linked to a member of staff here"),
    ("oid-linked-leaver", "may sign in to the console, while their staff record is active"),
])
def test_someone_who_may_not_sign_in_is_told_why_and_not_signed_in(
        s: Session, authority, oidc_site: LiveSite, page: Page, subject: str, said: str) -> None:
    oidc_site.at("2026-12-01T09:00")

    shown = _sign_in_as(page, oidc_site, subject)
    page.goto(f"{oidc_site.url}/console")

    assert said in shown
    assert page.url.endswith("/sign-in")
    assert _rows(s) == []
    # A refusal keeps nothing, not even the link of the staff record to the account.
    assert list(s.scalars(select(Staff.oidc_subject).where(Staff.oidc_subject.is_not(None)))) == ["oid-linked-leaver"]
    s.commit()


def test_a_cancelled_sign_in_a_forged_callback_and_a_mailed_link_all_sign_in_no_one(
        s: Session, authority, oidc_site: LiveSite, people, page: Page) -> None:
    oidc_site.at("2026-12-01T09:00")

    page.goto(f"{oidc_site.url}/sign-in")
    page.get_by_role("button", name=START).click()
    page.get_by_role("button", name="Deny").click()
    denied = page.locator("main").inner_text()
    response = page.goto(f"{oidc_site.url}/sign-in/callback?code=forged&state=forged")
    forged = page.locator("main").inner_text()

    assert "did not sign you in" in denied
    assert response.status == 400 and "did not sign you in" in forged
    assert _rows(s) == []
    with pytest.raises(UserError, match="signs in with its own sign-in service"):
        invite(s, build_context("2026-12-01T09:00", settings=oidc_site.settings), people["qa"][0])
    s.rollback()
    assert s.scalar(select(func.count()).select_from(Link)) == 0
    s.commit()
