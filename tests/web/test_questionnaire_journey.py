"""The new-auditor questionnaire, from the email after a first audit to the page in Chromium, and the QA team's list."""
import json
from datetime import date

import pytest
from conftest import PLANTED
from forms import valid_form
from mail_links import body_text, labelled_link, link_urls
from playwright.sync_api import Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner
from web_live import LiveSite, check_page, keep_screens, live_site, tab_to

from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.settings import QuestionnaireQuestion
from auditcycle.learning.questionnaire import send_questionnaires
from auditcycle.models import Audit, Event, Link, OutboxMessage, QuestionnaireResponse, Staff
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw, monthly_cycle
from auditcycle.submissions.submit import submit

DEC = Month(2026, 12)
SENT = "2026-12-31T09:00"
ANSWERED = "2027-01-05T10:00"
SEND = "Send my answers"
LABEL = "Answer the questionnaire"
IMPROVE = "What would improve the audit process? (optional)"


def _release(s: Session) -> None:
    """End the test session's transaction: on SQLite its reads hold the write lock the site needs."""
    s.commit()


def _first_audit(s: Session, authority, settings) -> Audit:
    """One December audit drawn, announced and submitted by its auditor, their first."""
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=DEC, size=1, seed=21)
    s.commit()
    queue_notices(s, build_context("2026-11-24T12:00", settings=settings), cycle=monthly_cycle(s, DEC))
    s.commit()
    [audit] = s.scalars(select(Audit))
    submit(s, build_context("2026-12-14T10:00", settings=settings), reference=audit.reference,
           data=valid_form(audit.child.key_worker_id, today=date(2026, 12, 14)), by=audit.auditor_id)
    s.commit()
    deliver(engine=authority, settings=settings)
    return audit


def _questionnaire(s: Session, authority, settings, smtp_server, audit: Audit):
    """Send the questionnaires the way the moderate phase does; return the auditor's message as received."""
    smtp_server.received.clear()
    assert send_questionnaires(s, build_context(SENT, settings=settings), cycle=audit.cycle) == 1
    s.commit()
    deliver(engine=authority, settings=settings)
    email = audit.auditor.email
    _release(s)
    [message] = [r.message for r in smtp_server.received if r.rcpt_tos == [email]]
    return message


@pytest.fixture
def audit(s: Session, authority, site: LiveSite, smtp_server) -> Audit:
    """The first audit of its auditor, submitted; the questionnaire sent and received."""
    made = _first_audit(s, authority, site.settings)
    _release(s)
    return made


def _state(s: Session) -> tuple:
    """Everything answering could change: the responses, the links, the outbox, the trail."""
    return (s.scalar(select(func.count()).select_from(QuestionnaireResponse)),
            s.scalar(select(func.count()).select_from(Link).where(Link.used_at.is_not(None))),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
            s.scalar(select(func.count()).select_from(Event)), _release(s))


def _question(page: Page, text: str):
    return page.get_by_role("group", name=text)


def test_the_new_auditor_answers_the_questionnaire_from_the_email_once(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page, app_env) -> None:
    auditor = audit.auditor
    auditor_id, auditor_name = auditor.id, auditor.name
    child = (audit.child_id, audit.child.first_name, audit.child.last_name)
    message = _questionnaire(s, authority, site.settings, smtp_server, audit)
    assert "auditcycle " not in body_text(message) and "example.org" not in body_text(message)
    assert len(link_urls(message)) == 1
    url = labelled_link(message, LABEL)
    screens: list[tuple[str, bytes]] = []
    site.at(ANSWERED)
    assert page.request.head(url).status == 200
    before = _state(s)

    page.goto(url)
    shown = page.locator("main").inner_text()
    assert _state(s) == before
    check_page(page, "questionnaire", screens)
    assert "Tell us how your first audit went" in shown and audit.reference in shown and child[0] in shown
    assert child[1] not in shown and child[2] not in shown

    page.get_by_role("button", name=SEND).click()
    errors = page.locator(".govuk-error-summary").inner_text()
    check_page(page, "questionnaire-errors", screens)
    assert page.title().startswith("Error: ")
    assert errors.splitlines()[1:] == [
        "Select your answer to: How clear were the audit guidance and the audit tool?",
        "Select your answer to: Did you have enough time to complete the audit?",
        "Select your answer to: How useful was the support of your buddy and the Practice Improvement Managers?",
        "Select your answer to: How did the learning conversation with the practitioner go?"]
    assert _state(s) == before

    _question(page, "How clear were the audit guidance and the audit tool?").get_by_label("Clear", exact=True).check()
    _question(page, "Did you have enough time to complete the audit?").get_by_label("Just about", exact=True).check()
    _question(page, "How useful was the support of your buddy and the Practice Improvement Managers?") \
        .get_by_label("Very useful", exact=True).check()
    _question(page, "How did the learning conversation with the practitioner go?") \
        .get_by_label("Well", exact=True).check()
    page.get_by_label(IMPROVE).fill("x" * 2001)
    page.get_by_role("button", name=SEND).click()
    assert "Your answer must be 2,000 characters or fewer" in page.locator(".govuk-error-summary").inner_text()
    assert _question(page, "Did you have enough time to complete the audit?").get_by_label("Just about", exact=True).is_checked()
    assert _state(s) == before

    typed = f"More time to read {PLANTED['child_first']}'s chronology <b>before</b> the conversation."
    page.get_by_label(IMPROVE).fill(typed)
    csrf = page.locator("input[name=csrf_token]").input_value()
    page.get_by_role("button", name=SEND).click()
    confirmation = page.locator("main").inner_text()
    check_page(page, "questionnaire-done", screens)

    assert "Thank you. Your answers are with the Quality Assurance team." in confirmation
    [row] = s.scalars(select(QuestionnaireResponse))
    assert (row.staff_id, row.audit_id) == (auditor_id, audit.id)
    assert [a["answer"] for a in row.answers] == ["Clear", "Just about", "Very useful", "Well", typed]
    event = s.scalar(select(Event).where(Event.kind == "questionnaire-answered"))
    assert (event.subject_ref, event.actor_id, event.detail) == (audit.reference, auditor_id,
                                                                 "5 of 5 questions answered")
    _release(s)
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    assert smtp_server.received == []  # answering sends nothing: the QA team reads the answers in the list

    after = _state(s)
    page.goto(url)
    assert f"already done by {auditor_name} at 10:00 on Tuesday 5 January 2027" in page.locator("main").inner_text()
    replayed = page.request.post(url, form={"csrf_token": csrf, "q_guidance_clear": "Very clear",
                                            "q_enough_time": "Yes", "q_support_useful": "Useful",
                                            "q_learning_conversation": "Well"})
    assert f"already done by {auditor_name}" in replayed.text()
    assert _state(s) == after
    keep_screens(screens)

    # The QA team reads them: the free text as the redactor leaves it, the choices counted.
    listed = CliRunner().invoke(app, ["list", "questionnaires", "--json", "--month", "2026-12", "--now", ANSWERED])
    assert listed.exit_code == 0, listed.output
    [item] = json.loads(listed.output)["items"]
    assert (item["reference"], item["status"], item["auditor_id"]) == (audit.reference, "answered", auditor_id)
    assert item["answers"][-1]["answer"] == "More time to read Z.'s chronology <b>before</b> the conversation."
    table = CliRunner().invoke(app, ["list", "questionnaires", "--now", ANSWERED], env={"COLUMNS": "100"})
    assert table.exit_code == 0, table.output
    assert "1 of 1 answered" in table.output and "Just about: 1" in table.output
    assert PLANTED["child_first"] not in table.output


def test_an_auditor_who_is_not_the_holder_is_refused_at_the_post_and_nothing_is_kept(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    message = _questionnaire(s, authority, site.settings, smtp_server, audit)
    url = labelled_link(message, LABEL)
    site.at(ANSWERED)
    page.goto(url)
    for text, choice in [("How clear were the audit guidance and the audit tool?", "Very clear"),
                         ("Did you have enough time to complete the audit?", "Yes"),
                         ("How useful was the support of your buddy and the Practice Improvement Managers?", "Useful"),
                         ("How did the learning conversation with the practitioner go?", "Very well")]:
        _question(page, text).get_by_label(choice, exact=True).check()

    # The audit is given to someone else after the email went: the permission is asked again at the POST.
    someone = s.scalars(select(Staff).where(Staff.id != audit.auditor_id, Staff.active,
                                            Staff.role == audit.auditor.role)).first()
    s.get(Audit, audit.id).auditor_id = someone.id
    s.commit()
    before = _state(s)
    page.get_by_role("button", name=SEND).click()
    assert "may not questionnaire" in page.locator(".govuk-error-summary").inner_text()
    assert _state(s) == before


def test_a_councils_own_questions_make_the_page(s: Session, authority, settings, db_url: str, smtp_server,
                                                page: Page) -> None:
    own = settings.model_copy(update={"framework": settings.framework.model_copy(update={"questionnaire": [
        QuestionnaireQuestion(key="buddy", text="Did you meet your buddy before the audit?", choices=["Yes", "No"]),
        QuestionnaireQuestion(key="best", text="What went best?", hint="A sentence or two."),
    ]})})
    with live_site(own, db_url) as site:
        audit = _first_audit(s, authority, site.settings)
        message = _questionnaire(s, authority, site.settings, smtp_server, audit)
        site.at(ANSWERED)
        page.goto(labelled_link(message, LABEL))
        page.get_by_role("button", name=SEND).click()
        errors = page.locator(".govuk-error-summary").inner_text().splitlines()[1:]
        assert errors == ["Select your answer to: Did you meet your buddy before the audit?",
                          "Enter your answer to: What went best?"]
        _question(page, "Did you meet your buddy before the audit?").get_by_label("Yes").check()
        page.get_by_label("What went best?").fill("The learning conversation.")
        page.get_by_role("button", name=SEND).click()
        assert "Your answers are with the Quality Assurance team" in page.locator("main").inner_text()
        [row] = s.scalars(select(QuestionnaireResponse))
        assert row.answers == [
            {"key": "buddy", "question": "Did you meet your buddy before the audit?", "answer": "Yes"},
            {"key": "best", "question": "What went best?", "answer": "The learning conversation."}]
        _release(s)


def test_the_new_auditor_answers_by_keyboard_alone(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    message = _questionnaire(s, authority, site.settings, smtp_server, audit)
    site.at(ANSWERED)

    page.goto(labelled_link(message, LABEL))
    for key in ("guidance_clear", "enough_time", "support_useful", "learning_conversation"):
        tab_to(page, element_id=f"q_{key}")  # the first choice of each question
        page.keyboard.press("Space")
    tab_to(page, element_id="q_improve")
    page.keyboard.type("More time to read the record.")
    tab_to(page, text=SEND)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    [response] = s.scalars(select(QuestionnaireResponse))
    assert "More time to read the record." in json.dumps(response.answers)
    _release(s)
