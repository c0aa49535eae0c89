"""The audit form, from the auditor's received notice to the page in Chromium and back to the database and mail."""
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from conftest import PLANTED
from forms import valid_form
from mail_links import body_text, labelled_link
from playwright.sync_api import Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens

from auditcycle.booking.meetings import book
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.settings import DEFAULT_DOMAINS, DEFAULT_GRADES
from auditcycle.models import (
    Action,
    Audit,
    BuddyReview,
    DomainGrade,
    Event,
    FamilyFeedback,
    Meeting,
    OutboxMessage,
    Staff,
    Submission,
)
from auditcycle.models.enums import AuditStatus, MeetingKind
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.notifications.notices import moment_label
from auditcycle.sampling.cycle import draw, monthly_cycle
from auditcycle.submissions.booked import BookedCall, family_calls
from auditcycle.submissions.submit import submit

FORM = "2026-12-10T10:00"


@pytest.fixture
def audit(s: Session, authority, site: LiveSite, smtp_server) -> Audit:
    """One December audit drawn and announced: its auditor has received the allocation notice."""
    december = Month(2026, 12)
    draw(s, build_context("2026-11-23T09:00", settings=site.settings), month=december, size=1, seed=21)
    s.commit()
    queue_notices(s, build_context("2026-11-24T12:00", settings=site.settings), cycle=monthly_cycle(s, december))
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    [only] = s.scalars(select(Audit))
    _release(s)
    return only


def _release(s: Session) -> None:
    """End the test session's transaction: on SQLite its reads hold the write lock the site needs."""
    s.commit()


def _mail_to(smtp_server, email: str) -> list:
    return [r.message for r in smtp_server.received if r.rcpt_tos == [email]]


def _form_link(smtp_server, audit: Audit) -> str:
    [notice] = [m for m in _mail_to(smtp_server, audit.auditor.email) if m["Subject"].startswith("Audit allocation")]
    assert "auditcycle " not in body_text(notice)
    return labelled_link(notice, "Open the audit form")


def _state(s: Session, audit: Audit) -> tuple:
    """Everything a submission could change: the form, the grades, the actions, the outbox, the trail."""
    row = s.get(Audit, audit.id, populate_existing=True)
    return (row.status, row.form_draft, s.scalar(select(func.count()).select_from(Submission)),
            s.scalar(select(func.count()).select_from(DomainGrade)),
            s.scalar(select(func.count()).select_from(Action)),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
            s.scalar(select(func.count()).select_from(Event)), _release(s))


def _grade(page: Page, domain: str, grade: str) -> None:
    page.get_by_role("group", name=f"Grade for {DEFAULT_DOMAINS[domain]}").get_by_label(
        DEFAULT_GRADES[grade], exact=True).check()


def _action(page: Page, number: int, *, description: str, owner: str, due: date) -> None:
    row = page.get_by_role("group", name=f"Action {number}", exact=True)
    row.get_by_label("What is to be done").fill(description)
    owners = row.get_by_label("Owner")
    # The child's people and team, not the whole council.
    assert 2 < owners.locator("option").count() < 40
    owners.select_option(label=f"{owner} (allocated key worker)")
    for part, value in (("Day", due.day), ("Month", due.month), ("Year", due.year)):
        row.get_by_label(part).fill(str(value))


def _fill_the_form(page: Page, key_worker: str, *, ungraded: tuple[str, ...] = ()) -> None:
    for domain in DEFAULT_DOMAINS:
        if domain not in ungraded:
            _grade(page, domain, "good")
        page.get_by_label(f"Evidence for {DEFAULT_DOMAINS[domain]}").fill(f"Seen in the record ({domain}).")
    page.get_by_role("group", name="Overall grade").get_by_label(DEFAULT_GRADES["requires_improvement"]).check()
    page.get_by_label("Strengths").fill("Clear, warm recording of the child's wishes. <b>bold?</b>")
    page.get_by_label("Feedback for the practitioner").fill("Reflective conversation.")
    _action(page, 1, description="Update the chronology", owner=key_worker, due=date(2026, 12, 21))
    conversation = page.get_by_role("group", name="Learning conversation with the key worker: date held")
    for part, value in (("Day", "8"), ("Month", "12"), ("Year", "2026")):
        conversation.get_by_label(part).fill(value)
    page.get_by_label("Learning conversation with the key worker: length in minutes").fill("60")


def test_the_auditor_opens_the_form_from_the_notice_fills_it_and_submits(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    key_worker = audit.child.key_worker
    kw_email, child = key_worker.email, (audit.child_id, audit.child.first_name, audit.child.last_name)
    url = _form_link(smtp_server, audit)
    _release(s)
    screens: list[tuple[str, bytes]] = []
    site.at(FORM)

    page.goto(url)
    shown = page.locator("main").inner_text()
    assert "Audit form" in shown and child[0] in shown and child[1] not in shown and child[2] not in shown
    assert page.locator(".govuk-fieldset", has_text="Action").count() >= 3
    page.get_by_text(f"Questions to consider for {DEFAULT_DOMAINS['assessment']}").click()
    assert "Has the child/young person been seen/alone" in page.locator("main").inner_text()
    check_page(page, "audit-form", screens)
    _fill_the_form(page, key_worker.name)
    page.get_by_role("button", name="Submit the audit form").click()

    confirmation = page.locator("main").inner_text()
    assert f"The audit form for {audit.reference} is submitted" in confirmation
    check_page(page, "audit-form-submitted", screens)
    submission = s.scalar(select(Submission).where(Submission.audit_id == audit.id))
    assert (submission.version, submission.overall, submission.submitted_by_id) == (
        1, "requires_improvement", audit.auditor_id)
    assert submission.form["evidence"]["assessment"] == "Seen in the record (assessment)."
    assert submission.form["conversations"] == [
        {"kind": "learning_conversation", "held_on": "2026-12-08", "minutes": 60}]
    assert s.scalar(select(func.count()).select_from(DomainGrade)) == len(DEFAULT_DOMAINS)
    [action] = s.scalars(select(Action).where(Action.audit_id == audit.id))
    assert (action.description, action.owner_id, action.due_date) == (
        "Update the chronology", key_worker.id, date(2026, 12, 21))
    _release(s)
    # Reopened, the page shows the form as submitted, ready to change before moderation.
    assert page.get_by_label("Strengths").input_value().startswith("Clear, warm recording")

    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    outcome = [m for m in _mail_to(smtp_server, kw_email) if audit.reference in m["Subject"]]
    assert len(outcome) == 1
    assert "Requires improvement" in body_text(outcome[0])
    keep_screens(screens)


def test_a_form_with_errors_lists_them_at_the_top_and_beside_each_field_and_stores_nothing(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    key_worker = audit.child.key_worker
    url = _form_link(smtp_server, audit)
    before = _state(s, audit)
    screens: list[tuple[str, bytes]] = []
    site.at(FORM)

    page.goto(url)
    _grade(page, "assessment", "good")
    page.get_by_label("Strengths").fill("Kept when the page comes back.")
    _action(page, 1, description="Too late", owner=key_worker.name, due=date(2027, 3, 1))
    page.get_by_role("group", name="Action 2", exact=True).get_by_label("What is to be done").fill("Who and when?")
    page.get_by_role("button", name="Submit the audit form").click()

    summary = page.locator(".govuk-error-summary").inner_text()
    assert page.title().startswith("Error: ")
    assert f"{DEFAULT_DOMAINS['impact_outcomes']}: choose a grade" in summary
    assert "Overall grade: choose a grade" in summary and "Action 1, due date: 2027-03-01 is more than 31" in summary
    assert "Action 2, owner: choose one" in summary and "Action 2, due date: enter the date" in summary
    beside = page.locator(".govuk-error-message").all_inner_texts()
    assert any("Action 1, due date" in t for t in beside) and any("Overall grade" in t for t in beside)
    assert page.get_by_label("Strengths").input_value() == "Kept when the page comes back."
    check_page(page, "audit-form-errors", screens)
    assert _state(s, audit) == before
    keep_screens(screens)


def test_save_and_return_later_keeps_a_draft_shown_filled_when_the_page_reopens(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    url = _form_link(smtp_server, audit)
    _release(s)
    site.at(FORM)

    page.goto(url)
    _grade(page, "assessment", "outstanding")
    page.get_by_label("Strengths").fill("Half written.")
    page.get_by_role("button", name="Save and return later").click()
    assert f"Your form for audit {audit.reference} is saved" in page.locator("main").inner_text()
    row = s.get(Audit, audit.id, populate_existing=True)
    assert row.form_draft["grades"] == {"assessment": "outstanding"} and row.form_draft["strengths"] == "Half written."
    assert s.scalar(select(func.count()).select_from(Submission)) == 0
    _release(s)

    page.goto(url)
    assert "Your saved draft is shown below" in page.locator("main").inner_text()
    assert page.get_by_label("Strengths").input_value() == "Half written."
    assert page.get_by_role("group", name=f"Grade for {DEFAULT_DOMAINS['assessment']}").get_by_label(
        DEFAULT_GRADES["outstanding"]).is_checked()


def test_a_scanners_get_and_head_change_nothing(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    url = _form_link(smtp_server, audit)
    before = _state(s, audit)
    site.at(FORM)
    assert page.request.head(url).status == 200
    assert page.request.get(url).status == 200
    assert _state(s, audit) == before


def test_the_buddy_comments_on_the_new_auditors_form_from_their_email_once(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    buddy = s.scalars(select(Staff).where(Staff.auditor, Staff.active, Staff.id != audit.auditor_id)
                      .order_by(Staff.id)).first()
    s.get(Audit, audit.id).buddy_id = buddy.id
    s.commit()
    buddy_email, buddy_name, auditor_email = buddy.email, buddy.name, audit.auditor.email
    key_worker = audit.child.key_worker
    url = _form_link(smtp_server, audit)
    _release(s)
    screens: list[tuple[str, bytes]] = []
    site.at(FORM)
    page.goto(url)
    _fill_the_form(page, key_worker.name)
    page.get_by_role("button", name="Submit the audit form").click()
    assert "is submitted" in page.locator("main").inner_text()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    [ask] = [m for m in _mail_to(smtp_server, buddy_email) if m["Subject"].startswith("For your comment as buddy")]
    review_url = labelled_link(ask, "Agree or comment")
    site.at("2026-12-11T09:30")

    page.goto(review_url)
    shown = page.locator("main").inner_text()
    assert "Review the new auditor's form" in shown and "Update the chronology" in shown
    assert audit.child.first_name not in shown
    check_page(page, "buddy-review", screens)
    page.get_by_role("button", name="Send").click()
    assert "Select whether you agree with the form" in page.locator(".govuk-error-summary").inner_text()
    page.get_by_label("No, the auditor should look again").check()
    page.get_by_role("button", name="Send").click()
    assert "Your comment: say what the auditor should look at again" in page.locator(".govuk-error-summary").inner_text()
    assert "Your comment: say what" in page.locator(".govuk-error-message").inner_text()
    check_page(page, "buddy-review-errors", screens)
    assert s.scalar(select(func.count()).select_from(BuddyReview)) == 0
    _release(s)
    page.get_by_label("No, the auditor should look again").check()
    page.get_by_label("Your comment for the auditor").fill("Weigh the school move <script>x</script>.")
    page.get_by_role("button", name="Send").click()
    assert f"Your comment on the form for {audit.reference} has been sent" in page.locator("main").inner_text()
    [review] = s.scalars(select(BuddyReview))
    assert (review.reviewer_id, review.agreed, review.version) == (buddy.id, False, 1)
    _release(s)

    page.goto(review_url)
    assert f"already done by {buddy_name}" in page.locator("main").inner_text()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site.settings)
    deliver(engine=authority, settings=site.settings)
    [told] = _mail_to(smtp_server, auditor_email)
    assert told["Subject"].startswith("Your buddy commented") and "<script>x</script>" in body_text(told)
    assert labelled_link(told, "Open the audit form").startswith(site.url + "/act/")
    keep_screens(screens)


def test_a_draft_is_saved_by_keyboard_alone(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    url = _form_link(smtp_server, audit)
    _release(s)
    site.at(FORM)
    page.goto(url)
    page.keyboard.press("Tab")  # the skip link
    page.locator(f"#grade_{next(iter(DEFAULT_DOMAINS))}").focus()  # the first domain's first grade
    page.keyboard.press("ArrowDown")  # the second grade: good
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == f"evidence_{next(iter(DEFAULT_DOMAINS))}"
    page.keyboard.type("Typed, not clicked.")
    for _ in range(400):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Save and return later":
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert f"Your form for audit {audit.reference} is saved" in page.locator("main").inner_text()
    draft = s.get(Audit, audit.id, populate_existing=True).form_draft
    _release(s)
    first = next(iter(DEFAULT_DOMAINS))
    assert draft["grades"] == {first: "good"} and draft["evidence"] == {first: "Typed, not clicked."}


def test_once_in_moderation_the_form_is_refused_and_nothing_changes(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    url = _form_link(smtp_server, audit)
    _release(s)
    site.at(FORM)
    page.goto(url)
    _fill_the_form(page, audit.child.key_worker.name)
    s.get(Audit, audit.id).status = AuditStatus.IN_MODERATION
    s.commit()
    before = _state(s, audit)
    page.get_by_role("button", name="Submit the audit form").click()
    assert "only until moderation" in page.locator(".govuk-error-summary").inner_text()
    page.get_by_role("button", name="Save and return later").click()
    assert "only until moderation" in page.locator(".govuk-error-summary").inner_text()
    assert _state(s, audit) == before


def test_the_review_unit_domain_is_not_applicable_with_a_reason_for_a_child_with_no_iro_or_cp_chair(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, page: Page) -> None:
    sru = "safeguarding_review_unit"
    url = _form_link(smtp_server, audit)
    key_worker = audit.child.key_worker.name
    child = s.get(Audit, audit.id).child
    child.iro_id = child.cp_chair_id = None
    s.commit()
    _release(s)
    site.at(FORM)

    page.goto(url)
    assert page.get_by_label(f"{DEFAULT_DOMAINS['assessment']} does not apply to this audit").count() == 0
    _fill_the_form(page, key_worker, ungraded=(sru,))
    page.get_by_label(f"{DEFAULT_DOMAINS[sru]} does not apply to this audit").check()
    page.get_by_role("button", name="Submit the audit form").click()
    assert f"{DEFAULT_DOMAINS[sru]}, why it does not apply: say why" in page.locator(
        ".govuk-error-summary").inner_text()
    assert s.scalar(select(func.count()).select_from(Submission)) == 0
    _release(s)
    page.get_by_label("Why it does not apply").fill("No IRO or CP chair has been involved.")
    page.get_by_role("button", name="Submit the audit form").click()

    assert "is submitted" in page.locator("main").inner_text()
    submission = s.scalar(select(Submission))
    assert submission.form["not_applicable"] == {sru: "No IRO or CP chair has been involved."}
    assert sru not in {g.domain for g in s.scalars(select(DomainGrade))}
    _release(s)


# --- the calls with the family and the young person, and the conversations booked -------------------------

OUTCOME_LABELS = {"spoke": "Spoke with them", "declined": "Declined to speak", "unreachable": "Could not be reached"}
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def calls(s: Session, site: LiveSite, audit: Audit) -> list[BookedCall]:
    """The audit's meetings booked once the family-advice wait is over; its calls with the young person and family."""
    book(s, build_context("2026-11-26T12:45", settings=site.settings), cycle=monthly_cycle(s, Month(2026, 12)))
    s.commit()
    booked = family_calls(s, s.get(Audit, audit.id))
    assert [c.relationship for c in booked][:1] == ["young person"] and len(booked) >= 3
    _release(s)
    return booked


def _label(call: BookedCall) -> str:
    return f"{call.relationship[:1].upper()}{call.relationship[1:]} ({call.initials})"


def _call(page: Page, call: BookedCall, *, outcome: str | None = None, interpreter: bool | None = None,
          summary: str | None = None) -> None:
    row = page.get_by_role("group", name=_label(call), exact=True)
    if outcome:
        row.get_by_role("group", name="Outcome of the call").get_by_label(OUTCOME_LABELS[outcome]).check()
    if interpreter is not None:
        row.get_by_role("group", name="Was an interpreter used?").get_by_label(
            "Yes" if interpreter else "No", exact=True).check()
    if summary is not None:
        row.get_by_label("Summary of what they said").fill(summary)


def _feedback(s: Session) -> list[tuple]:
    rows = [(f.relation, f.outcome, f.interpreter_used, f.summary, f.meeting_id)
            for f in s.scalars(select(FamilyFeedback).order_by(FamilyFeedback.id))]
    _release(s)
    return rows


def test_each_booked_call_has_a_row_filled_as_a_person_would_and_stored_linked_to_its_meeting(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, calls: list[BookedCall],
        page: Page) -> None:
    key_worker = audit.child.key_worker
    meetings = {m.kind: m for m in s.scalars(select(Meeting).where(Meeting.audit_id == audit.id))}
    learning, iro = meetings[MeetingKind.LEARNING_CONVERSATION], meetings[MeetingKind.IRO_CONVERSATION]
    url = _form_link(smtp_server, audit)
    _release(s)
    young_person, carer, other, *unheld = calls
    said = f"Says the worker listens; {PLANTED['contact_name']} can be called on {PLANTED['phone']}."
    screens: list[tuple[str, bytes]] = []
    site.at(FORM)

    page.goto(url)
    shown = page.locator("main").inner_text()
    rows = [page.get_by_role("group", name=_label(c), exact=True) for c in calls]
    assert [r.count() for r in rows] == [1] * len(calls)
    assert _label(young_person) == f"Young person ({audit.child.initials})"
    assert f"Call booked for {moment_label(carer.starts_at, LONDON)}, 30 minutes." in rows[1].inner_text()
    assert all(planted not in shown for planted in (PLANTED["contact_name"], PLANTED["phone"],
                                                     PLANTED["child_first"], PLANTED["child_last"]))
    # The conversations booked and already held are filled in from their meetings; the auditor may change them.
    iro_held = page.get_by_role("group", name="Conversation with the IRO or CP chair: date held")
    assert [iro_held.get_by_label(p).input_value() for p in ("Day", "Month", "Year")] == \
        iro.starts_at.astimezone(LONDON).strftime("%d %m %Y").split()
    assert page.get_by_label("Conversation with the IRO or CP chair: length in minutes").input_value() == "30"
    assert page.get_by_label("Learning conversation with the key worker: length in minutes").input_value() == "60"
    assert f"Booked for {moment_label(learning.starts_at, LONDON)}, 60 minutes" in shown
    check_page(page, "audit-form-calls", screens)
    _fill_the_form(page, key_worker.name)
    _call(page, young_person, outcome="spoke", interpreter=False, summary=said)
    _call(page, carer, outcome="declined")
    _call(page, other, outcome="unreachable", interpreter=True)
    page.get_by_role("button", name="Submit the audit form").click()

    assert f"The audit form for {audit.reference} is submitted" in page.locator("main").inner_text()
    submission = s.scalar(select(Submission).where(Submission.audit_id == audit.id))
    assert submission.form["family_feedback"] == [
        {"relationship": "young person", "outcome": "spoke", "interpreter_used": False, "summary": said,
         "meeting": young_person.reference},
        {"relationship": carer.relationship, "outcome": "declined", "interpreter_used": None, "summary": "",
         "meeting": carer.reference},
        {"relationship": other.relationship, "outcome": "unreachable", "interpreter_used": True, "summary": "",
         "meeting": other.reference}]
    assert {"kind": "iro_cp_chair", "held_on": iro.starts_at.astimezone(LONDON).date().isoformat(),
            "minutes": 30} in submission.form["conversations"]
    assert _feedback(s) == [("young person", "spoke", False, said, young_person.meeting_id),
                            (carer.relationship, "declined", False, "", carer.meeting_id),
                            (other.relationship, "unreachable", True, "", other.meeting_id)]
    # Reopened, each row shows what was said of its call, the summary through the one redactor.
    row = page.get_by_role("group", name=_label(young_person), exact=True)
    assert row.get_by_label(OUTCOME_LABELS["spoke"]).is_checked() and row.get_by_label("No", exact=True).is_checked()
    reopened = row.get_by_label("Summary of what they said").input_value()
    assert reopened.startswith("Says the worker listens;") and PLANTED["phone"] not in reopened
    assert PLANTED["contact_name"].split()[0] not in reopened
    for call in unheld:
        assert not page.get_by_role("group", name=_label(call), exact=True).get_by_label(
            OUTCOME_LABELS["spoke"]).is_checked()
    check_page(page, "audit-form-calls-submitted", screens)
    keep_screens(screens)


def test_a_held_call_with_no_interpreter_answer_a_long_summary_or_no_outcome_is_refused_and_nothing_stored(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, calls: list[BookedCall],
        page: Page) -> None:
    key_worker = audit.child.key_worker
    url = _form_link(smtp_server, audit)
    before = (_state(s, audit), _feedback(s))
    young_person, carer, *_ = calls
    screens: list[tuple[str, bytes]] = []
    site.at(FORM)

    page.goto(url)
    _fill_the_form(page, key_worker.name)
    _call(page, young_person, outcome="spoke", summary="x" * 4001)
    _call(page, carer, interpreter=False)
    page.get_by_role("button", name="Submit the audit form").click()

    summary = page.locator(".govuk-error-summary").inner_text()
    assert f"{_label(young_person)}, interpreter used: say whether an interpreter was used" in summary
    assert f"{_label(young_person)}, summary: enter at most 4000 characters" in summary
    assert f"{_label(carer)}, outcome: choose one" in summary
    row = page.get_by_role("group", name=_label(young_person), exact=True)
    assert "say whether an interpreter was used" in row.locator(".govuk-error-message").first.inner_text()
    assert any("enter at most 4000" in t for t in row.locator(".govuk-error-message").all_inner_texts())
    assert row.get_by_label("Summary of what they said").input_value() == "x" * 4001
    check_page(page, "audit-form-calls-errors", screens)
    assert (_state(s, audit), _feedback(s)) == before
    keep_screens(screens)


def test_a_draft_keeps_the_call_rows_and_each_submission_again_keeps_them_and_the_form_files_rows(
        s: Session, authority, site: LiveSite, smtp_server, audit: Audit, calls: list[BookedCall],
        page: Page) -> None:
    key_worker = audit.child.key_worker
    url = _form_link(smtp_server, audit)
    # First submitted from a form file, whose one row names no call.
    submit(s, build_context(FORM, settings=site.settings), reference=audit.reference, by=audit.auditor_id,
           data=valid_form(key_worker.id, today=date(2026, 12, 10)))
    s.commit()
    _release(s)
    young_person = calls[0]
    site.at(FORM)

    page.goto(url)
    assert "mother: Spoke with them" in page.locator("main").inner_text()
    _call(page, young_person, outcome="spoke", interpreter=True, summary="Wants more notice of visits.")
    page.get_by_role("button", name="Save and return later").click()
    assert f"Your form for audit {audit.reference} is saved" in page.locator("main").inner_text()
    draft = s.get(Audit, audit.id, populate_existing=True).form_draft["family_feedback"]
    _release(s)
    page.goto(url)
    row = page.get_by_role("group", name=_label(young_person), exact=True)
    reopened = (row.get_by_label(OUTCOME_LABELS["spoke"]).is_checked(),
                row.get_by_label("Yes", exact=True).is_checked(),
                row.get_by_label("Summary of what they said").input_value())
    page.get_by_role("button", name="Submit the audit form").click()
    assert "is submitted (version 2)" in page.locator("main").inner_text()
    second = _feedback(s)
    page.get_by_role("button", name="Submit the audit form").click()
    assert "is submitted (version 3)" in page.locator("main").inner_text()

    assert [(r.get("meeting"), r["relationship"], r["outcome"]) for r in draft] == [
        (young_person.reference, "young person", "spoke"), (None, "mother", "spoke")]
    assert reopened == (True, True, "Wants more notice of visits.")
    assert second == [("young person", "spoke", True, "Wants more notice of visits.", young_person.meeting_id),
                      ("mother", "spoke", False, "Felt listened to.", None)]
    assert _feedback(s) == second
