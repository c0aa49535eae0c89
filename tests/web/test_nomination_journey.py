"""A service manager nominates an example of good practice, from the QA team's ask to the page in Chromium."""
import pytest
from mail_links import body_text, labelled_link
from playwright.sync_api import Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens, tab_to

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.models import Child, Event, Link, Nomination, OutboxMessage, Staff, Team
from auditcycle.models.enums import Role
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw
from auditcycle.sampling.nominations import ask_for_good_practice

JAN = Month(2027, 1)
ASKED = "2026-12-01T09:00"
NOMINATED = "2026-12-03T11:15"
LABEL = "Nominate an example of good practice"
REASON = "Direct work with the child <b>led</b> the plan; the May review shows it."


def _release(s: Session) -> None:
    """End the test session's transaction: on SQLite its reads hold the write lock the site needs."""
    s.commit()


@pytest.fixture
def manager(s: Session, authority, site: LiveSite, smtp_server) -> Staff:
    """January's ask mailed to every service manager; the one of the largest service."""
    qa = s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER)).first()
    ask_for_good_practice(s, build_context(ASKED, settings=site.settings), month=JAN, by=qa.id)
    s.commit()
    deliver(engine=authority, settings=site.settings)
    service_id = s.scalar(select(Team.service_id).join(Child, Child.team_id == Team.id)
                          .group_by(Team.service_id).order_by(func.count().desc()).limit(1))
    found = s.scalars(select(Staff).where(Staff.role == Role.SERVICE_MANAGER, Staff.service_id == service_id)).one()
    _release(s)
    return found


def _ask(smtp_server, email: str) -> list:
    return [r.message for r in smtp_server.received if r.rcpt_tos == [email]]


def _state(s: Session) -> tuple:
    """Everything nominating could change: the nominations, the links, the outbox, the trail."""
    return (s.execute(select(Nomination.child_id, Nomination.nominated_by_id, Nomination.reason)).all(),
            s.scalar(select(func.count()).select_from(Link).where(Link.used_at.is_not(None))),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
            s.scalar(select(func.count()).select_from(Event)), _release(s))


def _children(s: Session, service_id: int) -> list[Child]:
    return list(s.scalars(select(Child).join(Team, Child.team_id == Team.id).where(
        Team.service_id == service_id, Child.key_worker_id.is_not(None)).order_by(Child.id)))


def _nominate(page: Page, case_id: str, reason: str) -> None:
    page.get_by_label("The child's case id").fill(case_id)
    page.get_by_label("Why is this record an example of good practice?").fill(reason)
    page.get_by_role("button", name="Nominate").click()


def test_the_service_manager_nominates_from_the_ask_and_the_page_then_shows_initials_only(
        s: Session, authority, site: LiveSite, smtp_server, manager: Staff, page: Page) -> None:
    mine = _children(s, manager.service_id)
    chosen, unallocated = mine[0], mine[1]
    unallocated.key_worker_id = None
    elsewhere = s.scalars(select(Child).join(Team, Child.team_id == Team.id).where(
        Team.service_id != manager.service_id)).first().id
    chosen_id, initials, names = chosen.id, chosen.initials, (chosen.first_name, chosen.last_name)
    service_ids = [c.id for c in mine]
    unallocated_id, name = unallocated.id, manager.name
    _release(s)
    [ask] = _ask(smtp_server, manager.email)
    assert "auditcycle " not in body_text(ask) and "17:00 on Friday 18 December 2026" in body_text(ask)
    url = labelled_link(ask, LABEL)
    screens: list[tuple[str, bytes]] = []
    site.at(NOMINATED)
    before = _state(s)

    replay = page.context.new_page()
    replay.goto(url)  # a second tab, left open on the form
    page.goto(url)
    shown = page.locator("main").inner_text()
    check_page(page, "good-practice", screens)
    assert "Nominate an example of good practice" in shown and "January 2027 audits" in shown
    assert page.title() == "Nominate an example of good practice – Case audit – Testshire Council"
    assert "17:00 on Friday 18 December 2026" in shown and "Monday 21 December 2026" in shown
    # The page asks for a case id: it lists none of the service's children.
    assert [cid for cid in service_ids if cid in shown] == []

    page.get_by_role("button", name="Nominate").click()
    errors = page.locator(".govuk-error-summary").inner_text()
    check_page(page, "good-practice-errors", screens)
    assert "Enter the child's case id" in errors and "Enter why the record is an example of good practice" in errors
    assert page.title().startswith("Error: ")
    assert _state(s) == before

    for case_id, says in [("C-NOT-KNOWN", "C-NOT-KNOWN: no child has that case id"),
                          (elsewhere, f"may not nominate {elsewhere}: only the service manager of the child's service"),
                          (unallocated_id, f"{unallocated_id} has no key worker, so cannot be audited")]:
        _nominate(page, case_id, REASON)
        beside = page.locator("#case_id-error").inner_text()
        assert says in beside and says in page.locator(".govuk-error-summary").inner_text()
        assert page.get_by_label("Why is this record an example of good practice?").input_value() == REASON
        assert _state(s) == before

    _nominate(page, chosen_id, REASON)
    confirmation = page.locator("main").inner_text()
    check_page(page, "good-practice-done", screens)
    assert f"{chosen_id} ({initials}) is nominated as good practice for the January 2027 audits" in confirmation
    listed = page.locator(".govuk-summary-list").nth(1).inner_text()
    assert f"{chosen_id} ({initials})" in listed and f"by {name} at 11:15 on Thursday 3 December 2026" in listed
    assert names[0] not in confirmation and names[1] not in confirmation
    assert page.locator("form[method=post]").count() == 0  # the service's one nomination is made
    [row] = s.scalars(select(Nomination)).all()
    assert (row.month, row.child_id, row.nominated_by_id, row.reason, row.audit_id) == (
        "2027-01", chosen_id, manager.id, REASON, None)
    assert row.nominated_at == build_context(NOMINATED).now
    _release(s)

    # Nothing follows by mail; asking again sends nobody a second ask.
    smtp_server.received.clear()
    qa = s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER)).first()
    again = ask_for_good_practice(s, build_context("2026-12-04T09:00", settings=site.settings), month=JAN, by=qa.id)
    s.commit()
    deliver(engine=authority, settings=site.settings)
    assert (again.asked, smtp_server.received) == (0, [])

    # The tab left open is refused by the rule, and changes nothing.
    after = _state(s)
    _nominate(replay, mine[2].id, "Another example")
    refused = replay.locator(".govuk-error-summary").inner_text()
    assert "has already nominated a record for January 2027: each service nominates one a month" in refused
    assert _state(s) == after

    page.goto(url)
    assert f"{chosen_id} ({initials})" in page.locator("main").inner_text()
    keep_screens(screens)


def test_once_the_month_is_drawn_the_page_says_so_and_a_nomination_is_refused(
        s: Session, authority, site: LiveSite, smtp_server, manager: Staff, page: Page) -> None:
    child_id = _children(s, manager.service_id)[0].id
    _release(s)
    [ask] = _ask(smtp_server, manager.email)
    url = labelled_link(ask, LABEL)
    screens: list[tuple[str, bytes]] = []
    site.at("2026-12-21T09:00")
    page.goto(url)  # left open on the form while the list is drawn
    draw(s, build_context("2026-12-21T07:00", settings=site.settings), month=JAN, size=3, seed=4)
    s.commit()
    before = _state(s)

    _nominate(page, child_id, REASON)
    refused = page.locator(".govuk-error-summary").inner_text()
    check_page(page, "good-practice-drawn", screens)

    assert "The January 2027 sample has already been drawn; nominate for a later month" in refused
    assert "nominations for it are closed" in page.locator("main").inner_text()
    assert page.locator("form[method=post]").count() == 0
    assert _state(s) == before
    keep_screens(screens)


def test_the_service_manager_nominates_by_keyboard_alone(
        s: Session, authority, site: LiveSite, smtp_server, manager: Staff, page: Page) -> None:
    chosen = _children(s, manager.service_id)[0].id
    manager_id = manager.id
    _release(s)
    [ask] = _ask(smtp_server, manager.email)
    site.at(NOMINATED)

    page.goto(labelled_link(ask, LABEL))
    tab_to(page, element_id="case_id")
    page.keyboard.type(chosen)
    tab_to(page, element_id="reason")
    page.keyboard.type("Clear plan, child's voice throughout.")
    tab_to(page, text="Nominate")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    [row] = s.scalars(select(Nomination)).all()
    assert (row.child_id, row.nominated_by_id, row.reason) == (chosen, manager_id, "Clear plan, child's voice throughout.")
    _release(s)
