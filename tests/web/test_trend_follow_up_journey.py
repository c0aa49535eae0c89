"""Record the follow-up to an audit trend, from the trend flag's email to the page in Chromium."""
import pytest
from mail_links import body_text, labelled_link
from playwright.sync_api import Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from trend_flags import raise_review_unit_flag
from web_live import LiveSite, check_page, keep_screens, tab_to

from auditcycle.core.context import build_context
from auditcycle.models import Event, Link, OutboxMessage, Staff, TrendFlag
from auditcycle.models.enums import Role
from auditcycle.notifications.gateway import deliver
from auditcycle.trends.follow_up import flag_reference

LABEL = "Record the follow-up"
FOLLOWED_UP = "2027-01-20T10:00"
CONTRIBUTED = "Permanence planning drifted after the move; case C000001's plan was <i>not</i> reviewed."


def _release(s: Session) -> None:
    """End the test session's transaction: on SQLite its reads hold the write lock the site needs."""
    s.commit()


@pytest.fixture
def flag(s: Session, authority, site: LiveSite, smtp_server) -> TrendFlag:
    """December's cared for child flagged for the review unit's inadequate grade, the flag mailed."""
    raised = raise_review_unit_flag(s, authority, site.settings)
    _release(s)
    return raised


def _flag_mail(smtp_server, person: Staff) -> list:
    return [r.message for r in smtp_server.received if r.rcpt_tos == [person.email]
            and r.message["Subject"].startswith("Audit trend for scrutiny")]


def _state(s: Session, flag: TrendFlag) -> tuple:
    """Everything recording could change: the flag, the links, the outbox, the trail."""
    row = s.get(TrendFlag, flag.id, populate_existing=True)
    return (row.followed_up_at, row.followed_up_by_id, row.follow_up_outcome, row.follow_up_contributed,
            s.scalar(select(func.count()).select_from(Link).where(Link.used_at.is_not(None))),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
            s.scalar(select(func.count()).select_from(Event)), _release(s))


def test_the_service_manager_records_the_follow_up_and_the_other_link_says_by_whom(
        s: Session, authority, site: LiveSite, smtp_server, flag: TrendFlag, page: Page) -> None:
    ref = flag_reference(flag)
    manager = s.scalars(select(Staff).where(Staff.role == Role.SERVICE_MANAGER,
                                            Staff.service_id == flag.service_id)).one()
    psw = s.scalars(select(Staff).where(Staff.role == Role.PRINCIPAL_SOCIAL_WORKER)).one()
    qa = list(s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER, Staff.active)))
    manager_name = manager.name
    _release(s)
    [mail] = _flag_mail(smtp_server, manager)
    [psw_mail] = _flag_mail(smtp_server, psw)
    assert "auditcycle " not in body_text(mail) and "will be in touch" not in body_text(mail)
    url, psw_url = labelled_link(mail, LABEL), labelled_link(psw_mail, LABEL)
    screens: list[tuple[str, bytes]] = []
    site.at(FOLLOWED_UP)
    before = _state(s, flag)

    replay = page.context.new_page()
    replay.goto(url)  # a second tab, left open on the form
    page.goto(url)
    shown = page.locator("main").inner_text()
    check_page(page, "trend-follow-up", screens)
    assert "Record the follow-up to an audit trend" in shown and ref in shown and flag.subject_ref in shown
    assert "1 audit, listed in your email" in shown

    page.get_by_role("button", name="Record the follow-up").click()
    errors = page.locator(".govuk-error-summary").inner_text()
    check_page(page, "trend-follow-up-errors", screens)
    assert "Enter what contributed to the grade" in errors and "Select what follows" in errors
    assert page.title().startswith("Error: ")
    assert _state(s, flag) == before

    page.get_by_label("What contributed to the Inadequate grade?").fill(CONTRIBUTED)
    page.get_by_label("No further action").check()
    page.get_by_role("button", name="Record the follow-up").click()
    assert "Say in the note why no further action is needed" in page.locator("#note-error").inner_text()
    assert page.get_by_label("What contributed to the Inadequate grade?").input_value() == CONTRIBUTED
    assert _state(s, flag) == before

    page.get_by_label("A discussion with the practitioner and their manager").check()
    page.get_by_label("Note", exact=True).fill("Discussion with the key worker and team manager on 27 January.")
    page.get_by_role("button", name="Record the follow-up").click()
    confirmation = page.locator("main").inner_text()
    check_page(page, "trend-follow-up-done", screens)
    assert (f"The follow-up to {ref} is recorded: a discussion with the practitioner and their manager. "
            "The QA managers have been told.") in confirmation
    row = s.get(TrendFlag, flag.id, populate_existing=True)
    assert (row.followed_up_at, row.followed_up_by_id, row.follow_up_contributed, row.follow_up_outcome,
            row.follow_up_note) == (build_context(FOLLOWED_UP).now, manager.id, CONTRIBUTED, "discussion",
                                    "Discussion with the key worker and team manager on 27 January.")
    assert s.scalars(select(Event.actor_id).where(Event.subject_ref == ref, Event.kind == "trend-followed-up")).all() \
        == [manager.id]
    _release(s)

    # The QA managers hear once, with what contributed and what follows.
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    assert sorted(r.rcpt_tos for r in smtp_server.received) == sorted([q.email] for q in qa)
    told = body_text(smtp_server.received[0].message)
    assert f"{manager_name} recorded the follow-up to audit trend {ref}" in told and "<i>not</i>" in told

    # The principal social worker's link, and the tab left open, say who did it and change nothing.
    after = _state(s, flag)
    page.goto(psw_url)
    other = page.locator("main").inner_text()
    check_page(page, "trend-follow-up-already-done", screens)
    replay.get_by_label("What contributed to the Inadequate grade?").fill("Something else")
    replay.get_by_label("A further audit").check()
    replay.get_by_role("button", name="Record the follow-up").click()
    replayed = replay.locator("main").inner_text()
    assert f"already done by {manager_name} at 10:00 on Wednesday 20 January 2027" in other
    assert f"already done by {manager_name} at 10:00 on Wednesday 20 January 2027" in replayed
    assert _state(s, flag) == after
    keep_screens(screens)


def test_the_follow_up_is_recorded_by_keyboard_alone(
        s: Session, authority, site: LiveSite, smtp_server, flag: TrendFlag, page: Page) -> None:
    manager = s.scalars(select(Staff).where(Staff.role == Role.SERVICE_MANAGER,
                                            Staff.service_id == flag.service_id)).one()
    manager_id = manager.id
    _release(s)
    [mail] = _flag_mail(smtp_server, manager)
    site.at(FOLLOWED_UP)

    page.goto(labelled_link(mail, LABEL))
    tab_to(page, element_id="contributed")
    page.keyboard.type("Drift after a change of worker.")
    tab_to(page, element_id="outcome")  # the first choice
    page.keyboard.press("Space")
    tab_to(page, text="Record the follow-up")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert "recorded" in page.locator("main").inner_text()
    row = s.get(TrendFlag, flag.id, populate_existing=True)
    assert (row.followed_up_by_id, row.follow_up_contributed, row.follow_up_outcome) == (
        manager_id, "Drift after a change of worker.", "discussion")
    _release(s)
