"""Moderate one audit, from the assignment, the panel's list or the chase email to the page in Chromium and back."""
import re
from datetime import date

import pytest
from forms import valid_form
from mail_links import body_text, labelled_link, link_row, link_urls
from playwright.sync_api import Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.links.keys import serializer, signing_keys
from auditcycle.models import Audit, AuditCycle, Event, GradeChange, Link, Moderation, OutboxMessage, Staff
from auditcycle.models.enums import AuditStatus, ModerationStatus, Role
from auditcycle.moderation.panel import record_moderation, select_for_moderation
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw, monthly_cycle
from auditcycle.submissions.submit import submit

DEC = Month(2026, 12)
SELECTED = "2027-01-04T09:00"  # after the due date: selection, the panel's list and the assignments
CHASED = "2027-01-07T09:00"  # three working days on: the panel is chased
DECIDED = "2027-01-05T10:00"
GRADES = ["requires_improvement", "inadequate", "requires_improvement", "inadequate", "requires_improvement",
          "inadequate"]


def _release(s: Session) -> None:
    """End the test session's transaction: on SQLite its reads hold the write lock the site needs."""
    s.commit()


@pytest.fixture
def cycle(s: Session, authority, site: LiveSite, smtp_server) -> AuditCycle:
    """Six December audits submitted (none good or better), selected for moderation; the selection's mail delivered."""
    settings = site.settings
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=DEC, size=len(GRADES), seed=21)
    s.commit()
    drawn = monthly_cycle(s, DEC)
    queue_notices(s, build_context("2026-11-24T12:00", settings=settings), cycle=drawn)
    s.commit()
    for audit, grade in zip(s.scalars(select(Audit).order_by(Audit.id)), GRADES, strict=True):
        form = valid_form(audit.child.key_worker_id, today=date(2026, 12, 20), overall=grade, grade=grade)
        submit(s, build_context("2026-12-20T10:00", settings=settings), reference=audit.reference, data=form,
               by=audit.auditor_id)
    s.commit()
    deliver(engine=authority, settings=settings)
    smtp_server.received.clear()
    select_for_moderation(s, build_context(SELECTED, settings=settings), cycle=drawn)
    s.commit()
    deliver(engine=authority, settings=settings)
    _release(s)
    return drawn


def _mail_to(smtp_server, email: str, subject: str) -> list:
    return [r.message for r in smtp_server.received if r.rcpt_tos == [email] and subject in r.message["Subject"]]


def _assigned(s: Session) -> Moderation:
    return s.scalars(select(Moderation).where(Moderation.moderator_id.is_not(None)).order_by(Moderation.id)).first()


def _state(s: Session, moderation: Moderation) -> tuple:
    """Everything a decision could change: the moderation, the audit, the grades, the links, the outbox, the trail."""
    row = s.get(Moderation, moderation.id, populate_existing=True)
    audit = s.get(Audit, row.audit_id, populate_existing=True)
    return (row.status, row.decided_by_id, row.moderated_overall, row.note, audit.status,
            s.scalar(select(func.count()).select_from(GradeChange)),
            s.scalar(select(func.count()).select_from(Link).where(Link.used_at.is_not(None))),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
            s.scalar(select(func.count()).select_from(Event)), _release(s))


def test_the_assigned_manager_moderates_from_the_assignment_email(
        s: Session, authority, site: LiveSite, smtp_server, cycle: AuditCycle, page: Page) -> None:
    moderation = _assigned(s)
    audit = moderation.audit
    manager = s.get(Staff, moderation.moderator_id)
    child = (audit.child_id, audit.child.first_name, audit.child.last_name)
    told = {audit.auditor.email, audit.child.key_worker.email}
    ref, manager_name, submitted = audit.reference, manager.name, moderation.original_overall
    label = site.settings.framework.grades[submitted]
    _release(s)
    [assignment] = _mail_to(smtp_server, manager.email, "Your moderation")
    assert "auditcycle " not in body_text(assignment)
    url = labelled_link(assignment, f"Moderate audit {ref}")
    screens: list[tuple[str, bytes]] = []
    site.at(DECIDED)

    page.goto(url)
    shown = page.locator("main").inner_text()
    check_page(page, "moderate", screens)
    assert "Moderate the audit" in shown and child[0] in shown and f"Submitted overall grade\t{label}" in shown
    assert child[1] not in shown and child[2] not in shown
    assert page.get_by_label("Assessment").input_value() == submitted
    page.get_by_label("Assessment").select_option("good")
    page.get_by_label(label, exact=True).check()
    page.get_by_label("What the panel decided, and why").fill("Assessment lacks the child's voice <script>x</script>")
    page.get_by_role("button", name="Record the moderation").click()
    confirmation = page.locator("main").inner_text()
    check_page(page, "moderate-done", screens)

    assert f"Your moderation of {ref} is recorded and final" in confirmation
    row = s.get(Moderation, moderation.id, populate_existing=True)
    assert (row.status, row.decided_by_id, row.moderated_overall) == (ModerationStatus.CHANGED, manager.id, submitted)
    assert row.note == "Assessment lacks the child's voice <script>x</script>"
    assert s.get(Audit, audit.id, populate_existing=True).status == AuditStatus.COMPLETED
    changes = {c.domain: (c.old_grade, c.new_grade, c.changed_by_id) for c in s.scalars(
        select(GradeChange).where(GradeChange.audit_id == audit.id, GradeChange.reason == "moderation"))}
    assert changes == {"assessment": (submitted, "good", manager.id)}
    _release(s)

    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    outcomes = [r for r in smtp_server.received if "moderated" in r.message["Subject"]]
    assert sorted(r.rcpt_tos[0] for r in outcomes) == sorted(told) and len(smtp_server.received) == len(told)

    page.goto(url)
    again = page.locator("main").inner_text()
    assert f"already done by {manager_name} at 10:00 on Tuesday 5 January 2027" in again
    keep_screens(screens)


def test_the_panels_list_gives_each_audit_its_own_link_and_form_errors_store_nothing(
        s: Session, authority, site: LiveSite, smtp_server, cycle: AuditCycle, page: Page) -> None:
    psw = s.scalars(select(Staff).where(Staff.role == Role.PRINCIPAL_SOCIAL_WORKER)).first()
    selected = {m.audit.reference: m for m in s.scalars(select(Moderation))}
    _release(s)
    [listed] = _mail_to(smtp_server, psw.email, "Audits for moderation")
    text = body_text(listed)
    assert "auditcycle " not in text
    urls = {ref: labelled_link(listed, f"moderate {ref}") for ref in selected}
    ctx = build_context(DECIDED, settings=site.settings)
    assert {ref: link_row(s, ctx, url).subject_ref for ref, url in urls.items()} == {ref: ref for ref in selected}
    assert len(set(urls.values())) == len(selected) == len(link_urls(listed))
    _release(s)
    ref, moderation = next(iter(selected.items()))
    before = _state(s, moderation)
    site.at(DECIDED)

    page.goto(urls[ref])
    page.get_by_label("What the panel decided, and why").fill("x" * (site.settings.framework.text_max_chars + 1))
    page.get_by_role("button", name="Record the moderation").click()
    errors = page.locator(".govuk-error-summary").inner_text()
    screens: list[tuple[str, bytes]] = []
    check_page(page, "moderate-errors", screens)

    assert "Select the moderated overall grade" in errors and "characters or fewer" in errors
    assert page.title().startswith("Error: ")
    assert _state(s, moderation) == before
    keep_screens(screens)


def test_a_panel_member_moderates_from_the_chase_by_keyboard_alone(
        s: Session, authority, site: LiveSite, smtp_server, cycle: AuditCycle, page: Page) -> None:
    psw = s.scalars(select(Staff).where(Staff.role == Role.PRINCIPAL_SOCIAL_WORKER)).first()
    email = psw.email
    smtp_server.received.clear()
    select_for_moderation(s, build_context(CHASED, settings=site.settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=site.settings)
    # The day's chase, of one moderation or a digest naming each, with the person's link for each.
    chases = _mail_to(smtp_server, email, "undecided")
    ref = re.search(r"Moderate audit (\S+): ", body_text(chases[0])).group(1)
    moderation = s.scalar(select(Moderation).join(Audit, Moderation.audit_id == Audit.id).where(Audit.reference == ref))
    _release(s)
    assert chases and all("auditcycle " not in body_text(c) for c in chases)
    site.at("2027-01-07T11:00")

    page.goto(labelled_link(chases[0], f"Moderate audit {ref}"))
    page.keyboard.press("Tab")  # the skip link
    page.locator("#domain_help_protection_stability").focus()
    page.keyboard.press("ArrowDown")  # one grade lower than submitted
    for _ in range(7):  # past the other domains, left as submitted
        page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # the first overall grade
    assert page.evaluate("document.activeElement.name") == "overall"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # the third: requires improvement
    page.keyboard.press("Tab")
    page.keyboard.type("Agreed, bar the first domain.")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert f"Your moderation of {ref} is recorded" in page.locator("main").inner_text()
    row = s.get(Moderation, moderation.id, populate_existing=True)
    assert (row.decided_by_id, row.moderated_overall, row.note) == (
        psw.id, "requires_improvement", "Agreed, bar the first domain.")
    _release(s)


def test_scanners_another_records_token_and_a_lost_assignment_change_nothing(
        s: Session, authority, site: LiveSite, smtp_server, cycle: AuditCycle, page: Page) -> None:
    moderation = _assigned(s)
    manager = s.get(Staff, moderation.moderator_id)
    other = s.scalars(select(Moderation).where(Moderation.id != moderation.id)).first()
    _release(s)
    [assignment] = _mail_to(smtp_server, manager.email, "Your moderation")
    url = labelled_link(assignment, f"Moderate audit {moderation.audit.reference}")
    site.at(DECIDED)
    before = _state(s, moderation)

    page.goto(url)
    assert page.request.head(url).status == 200
    assert _state(s, moderation) == before

    # The same link's row, signed properly, but naming another audit: not a link we sent.
    link = link_row(s, build_context(DECIDED, settings=site.settings), url)
    keys = signing_keys(s, build_context(DECIDED, settings=site.settings))
    forged = serializer(keys, "moderate").dumps({"p": "moderate", "s": other.audit.reference, "i": link.id})
    _release(s)
    response = page.goto(f"{site.url}/act/{forged}")
    assert response.status == 404 and "not one we sent" in page.locator("main").inner_text()

    # The manager's assignment moves to a colleague after the email went.
    s.get(Moderation, moderation.id).moderator_id = None
    s.commit()
    before = _state(s, moderation)
    page.goto(url)
    page.get_by_label("Requires improvement to be good").check()
    page.get_by_label("What the panel decided, and why").fill("Agreed.")
    page.get_by_role("button", name="Record the moderation").click()
    assert "may not moderate" in page.locator(".govuk-error-summary").inner_text()
    assert _state(s, moderation) == before


def test_an_assistant_director_agrees_a_good_grade_from_the_chase(
        s: Session, authority, site: LiveSite, smtp_server, cycle: AuditCycle, page: Page) -> None:
    moderation = s.scalars(select(Moderation).order_by(Moderation.id)).first()
    audit = moderation.audit
    psw = s.scalars(select(Staff).where(Staff.role == Role.PRINCIPAL_SOCIAL_WORKER)).first()
    # The panel raises the grade to good: final only once an assistant director agrees it.
    record_moderation(s, build_context(DECIDED, settings=site.settings), reference=audit.reference, by=psw.id,
                      grade="good", domains={}, note="Stronger than graded.")
    s.commit()
    smtp_server.received.clear()
    select_for_moderation(s, build_context("2027-01-14T09:00", settings=site.settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=site.settings)
    ref, told = audit.reference, {audit.auditor.email, audit.child.key_worker.email}
    # Each person's chase of this moderation: alone, or an item of the day's digest of their chases.
    chases = {r.rcpt_tos[0]: r.message for r in smtp_server.received if f"audit {ref} undecided" in r.message["Subject"]
              or "undecided" in r.message["Subject"] and f"Audit {ref} (case" in body_text(r.message)}
    directors = list(s.scalars(select(Staff).where(Staff.role == Role.ASSISTANT_DIRECTOR, Staff.active)
                               .order_by(Staff.id)))
    director, director_name = directors[0], directors[0].name
    _release(s)
    assert psw.email in chases and director.email in chases
    for email, chase in chases.items():
        text = " ".join(body_text(chase).split())
        assert "an assistant director agrees the grade" in text and "auditcycle " not in text
        # Only an assistant director may agree; nobody is asked to moderate it again.
        assert (f"Agree the grade of audit {ref}: " in body_text(chase)) == (email in {d.email for d in directors})
        assert f"Moderate audit {ref}: " not in body_text(chase)
    url = labelled_link(chases[director.email], f"Agree the grade of audit {ref}")
    screens: list[tuple[str, bytes]] = []
    site.at("2027-01-14T11:00")

    page.goto(url)
    shown = page.locator("main").inner_text()
    check_page(page, "agree-moderation", screens)
    assert "Agree the moderated grade" in shown and "Stronger than graded." in shown and psw.name in shown
    page.get_by_role("button", name="Agree the grade").click()

    assert f"You agreed the moderated grade of {ref}: it is final" in page.locator("main").inner_text()
    row = s.get(Moderation, moderation.id, populate_existing=True)
    assert (row.director_agreed_by_id, row.moderated_overall) == (director.id, "good")
    assert s.get(Audit, audit.id, populate_existing=True).status == AuditStatus.COMPLETED
    _release(s)
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == sorted(told)

    page.goto(url)
    assert f"already done by {director_name} at 11:00 on Thursday 14 January 2027" in page.locator("main").inner_text()
    keep_screens(screens)
