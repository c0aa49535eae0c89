"""A form's family feedback names the call booked for each row: checked against the audit's own calls, stored
linked to the meeting; and the booked conversations' dates and lengths the page fills in."""
from datetime import date, timedelta

import pytest
from forms import valid_form
from sqlalchemy import func, select

from auditcycle.booking.meetings import book
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context, context_at
from auditcycle.models import Audit, FamilyFeedback, Meeting, Submission
from auditcycle.models.enums import MeetingKind
from auditcycle.notices.queue import queue_notices
from auditcycle.sampling.cycle import draw, monthly_cycle
from auditcycle.submissions.booked import YOUNG_PERSON, booked_conversations, family_calls
from auditcycle.submissions.forms import FormError
from auditcycle.submissions.submit import submit

DEC = Month(2026, 12)
TODAY = date(2026, 12, 14)
NOW = "2026-12-14T10:00"


@pytest.fixture
def audits(s, settings, authority) -> list[Audit]:
    """December's audits drawn, announced, and their meetings booked once the family-advice wait is over."""
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=DEC, size=3, seed=21)
    s.commit()
    queue_notices(s, build_context("2026-11-24T12:00", settings=settings), cycle=monthly_cycle(s, DEC))
    s.commit()
    book(s, build_context("2026-11-26T12:45", settings=settings), cycle=monthly_cycle(s, DEC))
    s.commit()
    return list(s.scalars(select(Audit).order_by(Audit.id)))


def _with_calls(audit: Audit, rows: list[dict]) -> dict:
    return valid_form(audit.child.key_worker_id, today=TODAY, family_feedback=rows)


def _submit(s, settings, audit: Audit, form: dict) -> Submission:
    submission = submit(s, build_context(NOW, settings=settings), reference=audit.reference, data=form,
                        by=audit.auditor_id)
    s.commit()
    return submission


def _problems(s, settings, audit: Audit, form: dict) -> list[str]:
    with pytest.raises(FormError) as refused:
        _submit(s, settings, audit, form)
    s.rollback()
    return refused.value.problems


def test_the_calls_are_the_young_persons_first_then_each_family_contact_by_relationship_and_initials(
        s, audits) -> None:
    audit = next(a for a in audits if a.child.contacts and any(
        m.kind == MeetingKind.YOUNG_PERSON_CALL for m in s.scalars(select(Meeting).where(Meeting.audit_id == a.id))))

    calls = family_calls(s, audit)

    booked = {m.reference: m for m in s.scalars(select(Meeting).where(
        Meeting.audit_id == audit.id, Meeting.kind.in_([MeetingKind.FAMILY_CALL, MeetingKind.YOUNG_PERSON_CALL])))}
    assert [c.reference for c in calls] == [f"{audit.reference}-YP"] + sorted(
        (r for r in booked if r.endswith(tuple(f"FC{c.id}" for c in audit.child.contacts))),
        key=lambda r: (booked[r].starts_at, r))
    assert (calls[0].relationship, calls[0].initials) == (YOUNG_PERSON, audit.child.initials)
    contacts = {f"{audit.reference}-FC{c.id}": c for c in audit.child.contacts}
    assert [(c.relationship, c.initials) for c in calls[1:]] == [
        (contacts[c.reference].relation, contacts[c.reference].initials) for c in calls[1:]]
    assert all(c.meeting_id == booked[c.reference].id and c.minutes == 30 for c in calls)


def test_a_row_naming_its_call_is_stored_linked_to_that_meeting(s, settings, audits) -> None:
    audit = audits[0]
    [young_person, first, *_] = family_calls(s, audit)
    form = _with_calls(audit, [
        {"meeting": young_person.reference, "relationship": "Young person", "outcome": "spoke",
         "interpreter_used": False, "summary": "Likes the new school."},
        {"meeting": first.reference, "relationship": first.relationship, "outcome": "declined"},
        {"relationship": "uncle", "outcome": "unreachable"},
    ])

    submission = _submit(s, settings, audit, form)

    rows = list(s.scalars(select(FamilyFeedback).where(FamilyFeedback.submission_id == submission.id)
                          .order_by(FamilyFeedback.id)))
    assert [(r.relation, r.outcome, r.meeting_id) for r in rows] == [
        ("Young person", "spoke", young_person.meeting_id), (first.relationship, "declined", first.meeting_id),
        ("uncle", "unreachable", None)]
    assert [r["meeting"] for r in submission.form["family_feedback"]] == [
        young_person.reference, first.reference, None]


def test_a_meeting_of_another_audit_a_call_named_twice_or_the_wrong_relationship_is_refused_and_nothing_stored(
        s, settings, audits) -> None:
    audit, other = audits[0], audits[1]
    [young_person, first, *_] = family_calls(s, audit)
    [theirs, *_] = family_calls(s, other)
    form = _with_calls(audit, [
        {"meeting": theirs.reference, "relationship": theirs.relationship, "outcome": "spoke"},
        {"meeting": first.reference, "relationship": "uncle", "outcome": "declined"},
        {"meeting": young_person.reference, "relationship": YOUNG_PERSON, "outcome": "declined"},
        {"meeting": young_person.reference, "relationship": YOUNG_PERSON, "outcome": "unreachable"},
    ])

    found = _problems(s, settings, audit, form)

    assert found == [
        f"family_feedback.0.meeting: {theirs.reference!r} is not a call booked for this audit (its calls: "
        + ", ".join(c.reference for c in family_calls(s, audit)) + ")",
        f"family_feedback.1.relationship: 'uncle' is not whom {first.reference} was booked with "
        f"({first.relationship})",
        f"family_feedback.3.meeting: {young_person.reference} is already recorded in row 2; record each call once",
    ]
    assert s.scalar(select(func.count()).select_from(Submission)) == 0
    assert s.scalar(select(func.count()).select_from(FamilyFeedback)) == 0


def test_a_held_call_must_say_whether_an_interpreter_was_used_and_one_not_held_need_not(
        s, settings, audits) -> None:
    audit = audits[0]
    [young_person, first, *_] = family_calls(s, audit)
    unanswered = [{"meeting": young_person.reference, "relationship": YOUNG_PERSON, "outcome": "spoke",
                   "interpreter_used": None},
                  {"meeting": first.reference, "relationship": first.relationship, "outcome": "unreachable",
                   "interpreter_used": None}]

    found = _problems(s, settings, audit, _with_calls(audit, unanswered))
    unanswered[0]["interpreter_used"] = True
    submission = _submit(s, settings, audit, _with_calls(audit, unanswered))

    assert found == ["family_feedback.0.interpreter_used: say whether an interpreter was used"]
    assert [r.interpreter_used for r in s.scalars(select(FamilyFeedback).where(
        FamilyFeedback.submission_id == submission.id).order_by(FamilyFeedback.id))] == [True, False]


def test_each_conversation_is_given_by_its_first_booked_meeting_and_whether_it_has_begun(s, settings, audits) -> None:
    audit = audits[0]
    learning = s.scalar(select(Meeting).where(Meeting.audit_id == audit.id,
                                              Meeting.kind == MeetingKind.LEARNING_CONVERSATION))
    before = booked_conversations(s, context_at(learning.starts_at, settings=settings), audit)
    just_before = context_at(learning.starts_at - timedelta(minutes=1), settings=settings)

    held = before["learning_conversation"]

    assert (held.starts_at, held.held_on, held.minutes, held.started) == (
        learning.starts_at, learning.starts_at.date(), 60, True)
    assert booked_conversations(s, just_before, audit)["learning_conversation"].started is False
    assert "team_manager" not in before
