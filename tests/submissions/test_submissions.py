"""Submitting forms: every check, stored whole or not at all, the outcome announced once."""
import json
from datetime import date

import pytest
from conftest import PLANTED
from forms import due_in_two_weeks, valid_form
from sqlalchemy import func, select

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.models import (
    Action,
    Audit,
    DomainGrade,
    Event,
    FamilyFeedback,
    GradeChange,
    ImmediateResponse,
    OutboxMessage,
    Staff,
    Submission,
)
from auditcycle.models.enums import AuditStatus, ResponseTrigger, Role
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw
from auditcycle.submissions.forms import FormError
from auditcycle.submissions.submit import dispute, submit, submit_file

TODAY = date(2026, 12, 14)
NOW = "2026-12-14T10:00"


@pytest.fixture
def audit(s, settings, authority, smtp_server):
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=Month(2026, 12), size=3, seed=2)
    s.commit()
    queue_notices(s, build_context("2026-11-24T12:00", settings=settings),
                  cycle=s.scalars(select(Audit)).first().cycle)
    s.commit()
    deliver(engine=authority, settings=settings)
    smtp_server.received.clear()
    return s.scalars(select(Audit).order_by(Audit.id)).first()


def _snapshot(s) -> dict:
    return {m.__name__: s.scalar(select(func.count()).select_from(m)) for m in
            (Submission, DomainGrade, GradeChange, FamilyFeedback, Action, ImmediateResponse, OutboxMessage, Event)}


def _submit(s, settings, audit, form, by=None, now=NOW):
    result = submit(s, build_context(now, settings=settings), reference=audit.reference, data=form,
                    by=by or audit.auditor_id)
    s.commit()
    return result


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f["grades"].pop("assessment"), "grades.assessment: not graded"),
        (lambda f: f["grades"].update(assessment="excellent"), "grades.assessment: 'excellent' is not a grade"),
        (lambda f: f["grades"].update(astrology="good"), "grades.astrology: not an audit domain"),
        (lambda f: f.update(overall="brilliant"), "overall: 'brilliant' is not a grade"),
        (lambda f: f["actions"][0].update(due="2026-12-14"), "actions.0.due: 2026-12-14 is not after"),
        (lambda f: f["actions"][0].update(due="2027-01-20"), "actions.0.due: 2027-01-20 is more than 31 days"),
        (lambda f: f["actions"][0].update(due="20/12/2026"), "actions.0.due"),
        (lambda f: f["actions"][0].update(due="2026-12-28"),
         "actions.0.due: 2026-12-28 is a bank holiday (Boxing Day (observed)), not a working day; "
         "the nearest earlier working day is Thursday 2026-12-24"),
        (lambda f: f["actions"][0].update(due="2026-12-19"),
         "actions.0.due: 2026-12-19 is a Saturday, not a working day; "
         "the nearest earlier working day is Friday 2026-12-18"),
        (lambda f: f["actions"][0].update(owner_id="S9999"), "actions.0.owner_id: 'S9999' is not a known staff id"),
        (lambda f: f.update(strengths="x" * 10_001), "strengths: String should have at most 10000 characters"),
        (lambda f: f["family_feedback"][0].update(outcome="maybe"), "family_feedback.0.outcome"),
        (lambda f: f.update(colour="blue"), "colour: Extra inputs are not permitted"),
        (lambda f: f.update(immediate_response={"reason": ""}), "immediate_response.reason"),
    ],
)
def test_invalid_form_lists_the_problem_and_stores_nothing(s, settings, audit, change, expected) -> None:
    form = valid_form(audit.auditor_id, today=TODAY)
    change(form)
    before = _snapshot(s)

    with pytest.raises(FormError) as info:
        _submit(s, settings, audit, form)
    s.rollback()

    assert expected in str(info.value)
    assert _snapshot(s) == before
    assert s.get(Audit, audit.id).status == AuditStatus.NOTIFIED


def test_form_with_five_problems_lists_all_five(s, settings, audit) -> None:
    form = valid_form(audit.auditor_id, today=TODAY, overall="brilliant")
    form["grades"].pop("assessment")
    form["grades"]["recording_communication"] = "meh"
    form["actions"][0].update(owner_id="NOBODY", due="2027-03-01")

    with pytest.raises(FormError) as info:
        _submit(s, settings, audit, form)

    assert len(info.value.problems) == 5
    assert "5 problems, nothing stored" in str(info.value)


def test_submit_stores_grades_feedback_actions_and_history(s, settings, audit) -> None:
    submission = _submit(s, settings, audit, valid_form(audit.auditor_id, today=TODAY))

    grades = {g.domain: g.grade for g in s.scalars(select(DomainGrade))}
    history = list(s.scalars(select(GradeChange)))
    assert len(grades) == 8 and set(grades.values()) == {"good"}
    assert submission.overall == "requires_improvement" and submission.version == 1
    assert len(history) == 9 and all(h.old_grade is None and h.changed_by_id == audit.auditor_id for h in history)
    # Two weeks on is Monday 28 December, the Boxing Day bank holiday: the form names Thursday 24th.
    assert s.scalar(select(Action.due_date)) == due_in_two_weeks(TODAY) == date(2026, 12, 24)
    assert s.get(Audit, audit.id).status == AuditStatus.SUBMITTED
    assert submission.recorded_at is not None and submission.submitted_at.date() == TODAY


def test_outcome_goes_once_to_key_worker_team_manager_and_iro(s, settings, audit, authority, smtp_server) -> None:
    _submit(s, settings, audit, valid_form(audit.auditor_id, today=TODAY))
    deliver(engine=authority, settings=settings)
    outcome = [r for r in smtp_server.received if r.message["Subject"].startswith("Audit outcome")]

    child = audit.child
    team_managers = set(s.scalars(select(Staff.email).where(Staff.role == Role.TEAM_MANAGER,
                                                            Staff.team_id == child.team_id)))
    expected = {child.key_worker.email} | team_managers | {p.email for p in (child.iro, child.cp_chair) if p}
    assert sorted(r.rcpt_tos[0] for r in outcome) == sorted(expected)
    body = outcome[0].message.get_body(("plain",)).get_content()
    assert "Requires improvement to be good" in body and "Update the chronology" in body
    assert due_in_two_weeks(TODAY).strftime("%B %Y") in body
    prompts = [r for r in smtp_server.received if "next supervision" in r.message["Subject"]]
    assert sorted(r.rcpt_tos[0] for r in prompts) == sorted(team_managers)


def test_resubmitting_replaces_the_form_and_keeps_the_history(s, settings, audit, authority, smtp_server) -> None:
    _submit(s, settings, audit, valid_form(audit.auditor_id, today=TODAY))
    deliver(engine=authority, settings=settings)
    first = len(smtp_server.received)

    form = valid_form(audit.auditor_id, today=TODAY, overall="good")
    form["grades"]["assessment"] = "outstanding"
    submission = _submit(s, settings, audit, form, now="2026-12-15T10:00")
    deliver(engine=authority, settings=settings)
    _submit(s, settings, audit, form, now="2026-12-15T11:00")  # the same form again
    deliver(engine=authority, settings=settings)

    assert submission.version == 3
    assert s.scalar(select(func.count()).select_from(Submission)) == 1
    changes = {(c.domain, c.old_grade, c.new_grade) for c in s.scalars(
        select(GradeChange).where(GradeChange.reason == "resubmitted"))}
    assert changes == {("assessment", "good", "outstanding"), ("overall", "requires_improvement", "good")}
    updated = [r for r in smtp_server.received[first:] if r.message["Subject"].startswith("Updated audit outcome")]
    assert updated and len(smtp_server.received[first:]) == len(updated)  # no repeat for the unchanged form


def test_form_immediate_response_notifies_the_service_manager_high_importance(s, settings, audit, authority,
                                                                              smtp_server) -> None:
    form = valid_form(audit.auditor_id, today=TODAY, immediate_response={"reason": "Unsafe sleeping arrangements"})

    _submit(s, settings, audit, form)
    deliver(engine=authority, settings=settings)

    ir = s.scalar(select(ImmediateResponse))
    assert ir.trigger == ResponseTrigger.SAFEGUARDING_CONCERN and ir.raised_by_id == audit.auditor_id
    alerts = [r for r in smtp_server.received if "IMMEDIATE RESPONSE" in r.message["Subject"]]
    managers = set(s.scalars(select(Staff.email).where(Staff.role == Role.SERVICE_MANAGER,
                                                       Staff.service_id == audit.child.team.service_id)))
    assert {r.rcpt_tos[0] for r in alerts} == managers
    assert all(r.message["Importance"] == "high" for r in alerts)


def test_names_typed_into_actions_are_reduced_to_initials_in_mail(s, settings, audit, authority,
                                                                  smtp_server) -> None:
    form = valid_form(audit.auditor_id, today=TODAY)
    form["actions"][0]["description"] = f"Visit {PLANTED['child_first']} {PLANTED['child_last']} at school"

    _submit(s, settings, audit, form)
    deliver(engine=authority, settings=settings)

    raw = b"".join(r.data for r in smtp_server.received).decode("utf-8", "replace")
    assert PLANTED["child_first"] not in raw and PLANTED["child_last"] not in raw
    assert "Visit Z. Q. at school" in raw  # each part of the name becomes its initial


def test_submit_by_another_auditor_is_refused(s, settings, audit) -> None:
    other = s.scalars(select(Staff).where(Staff.auditor, Staff.id != audit.auditor_id,
                                          Staff.role == Role.TEAM_MANAGER)).first()
    with pytest.raises(PermissionDenied, match="only the audit's auditor, or the QA team may"):
        _submit(s, settings, audit, valid_form(audit.auditor_id, today=TODAY), by=other.id)


def test_form_file_that_is_not_json_names_line_and_column(s, settings, audit, tmp_path) -> None:
    path = tmp_path / "form.json"
    path.write_text('{"grades": {,}}')
    with pytest.raises(UserError, match="form.json: not valid JSON at line 1, column 13"):
        submit_file(s, build_context(NOW, settings=settings), reference=audit.reference, path=path,
                    by=audit.auditor_id)


def test_form_file_with_bom_is_accepted(s, settings, audit, tmp_path) -> None:
    path = tmp_path / "form.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(valid_form(audit.auditor_id, today=TODAY)).encode())
    submission = submit_file(s, build_context(NOW, settings=settings), reference=audit.reference, path=path,
                             by=audit.auditor_id)
    assert submission.version == 1


def test_dispute_by_key_worker_is_recorded_and_by_a_stranger_refused(s, settings, audit) -> None:
    _submit(s, settings, audit, valid_form(audit.auditor_id, today=TODAY))
    ctx = build_context("2026-12-16T10:00", settings=settings)
    stranger = s.scalars(select(Staff).where(Staff.role == Role.KEY_WORKER,
                                             Staff.id != audit.child.key_worker_id)).first()

    row = dispute(s, ctx, reference=audit.reference, by=audit.child.key_worker_id, note="The grade misses the work")
    with pytest.raises(PermissionDenied, match="only the child's key worker, or their team manager"):
        dispute(s, ctx, reference=audit.reference, by=stranger.id, note="x")

    assert row.raised_by_id == audit.child.key_worker_id and row.note == "The grade misses the work"


def test_dispute_before_submission_is_refused(s, settings, audit) -> None:
    with pytest.raises(UserError, match="once the form is submitted"):
        dispute(s, build_context(NOW, settings=settings), reference=audit.reference,
                by=audit.child.key_worker_id, note="x")
