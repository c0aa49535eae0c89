"""The table of who may do what is defined once in code and shown, the same, in the README."""
import re
from pathlib import Path

from auditcycle.people.permissions import PERMISSIONS


def test_readme_table_matches_the_code() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Who may do what", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (`.+?`.*?) \| (.+?) \|$", section, flags=re.M)
    documented = {}
    for commands, who in rows:
        for command in re.findall(r"`([a-z-]+)`", commands):
            documented[command] = who
    assert documented == {command: who for command, (_, who) in PERMISSIONS.items()}


def test_every_row_of_the_table_refuses_someone(authority) -> None:
    """Each decision, attempted by someone the table does not allow, is refused and changes nothing."""
    from datetime import date

    import pytest
    from forms import valid_form
    from sqlalchemy import func, select
    from sqlalchemy.orm import sessionmaker

    from auditcycle.booking.family_advice import record_advice
    from auditcycle.booking.meetings import book, reschedule
    from auditcycle.console.access_log import search_access_log
    from auditcycle.console.sessions import start_session
    from auditcycle.console.tracker import Tab, tracker_view
    from auditcycle.core.clock import Month
    from auditcycle.core.context import build_context
    from auditcycle.core.errors import PermissionDenied
    from auditcycle.core.settings import Settings
    from auditcycle.immediate_responses.lifecycle import raise_ir, respond
    from auditcycle.immediate_responses.supervision_gaps import decide_gap
    from auditcycle.learning.questionnaire import answer_questionnaire
    from auditcycle.models import Audit, Child, Event, Meeting, Staff
    from auditcycle.models.enums import Role
    from auditcycle.notices.queue import queue_notices
    from auditcycle.notices.review import approve_list
    from auditcycle.people.permissions import Subject, authorise
    from auditcycle.report.issue import issue_edition
    from auditcycle.report.notes import store_notes
    from auditcycle.sampling.cycle import draw, replace, withdraw
    from auditcycle.sampling.nominations import ask_for_good_practice, nominate
    from auditcycle.submissions.buddy import review_as_buddy
    from auditcycle.submissions.submit import dispute, submit
    from auditcycle.submissions.supervision import record_supervision_discussed

    settings = Settings(database_url="sqlite://")
    at = lambda now: build_context(now, settings=settings)  # noqa: E731
    s = sessionmaker(bind=authority, expire_on_commit=False)()
    draw(s, at("2026-11-23T09:00"), month=Month(2026, 12), size=3, seed=2)
    cycle = s.scalars(select(Audit)).first().cycle
    queue_notices(s, at("2026-11-24T12:00"), cycle=cycle)
    book(s, at("2026-11-25T09:00"), cycle=cycle)
    s.commit()
    audit, second = s.scalars(select(Audit).order_by(Audit.id)).all()[:2]
    submit(s, at("2026-12-14T10:00"), reference=second.reference,
           data=valid_form(second.auditor_id, today=date(2026, 12, 14)), by=second.auditor_id)
    ir = raise_ir(s, at("2026-12-14T11:00"), reference=audit.reference, by=audit.auditor_id, reason="Concern")
    s.commit()
    worker = s.scalars(select(Staff).where(Staff.role == Role.KEY_WORKER,
                                           Staff.id != audit.child.key_worker_id,
                                           Staff.id != second.child.key_worker_id)).first()
    iro = s.scalars(select(Staff).where(Staff.role == Role.IRO, Staff.active)).first()
    meeting = s.scalars(select(Meeting)).first()
    child = s.scalars(select(Child.id)).first()
    now = at("2026-12-15T10:00")
    attempts = {
        "submit": lambda: submit(s, now, reference=audit.reference, by=worker.id,
                                 data=valid_form(worker.id, today=date(2026, 12, 15))),
        "raise-ir": lambda: raise_ir(s, now, reference=audit.reference, by=worker.id, reason="x"),
        "buddy-review": lambda: review_as_buddy(s, now, reference=second.reference, by=worker.id, agreed=True),
        "respond": lambda: respond(s, now, reference=ir.reference, by=worker.id, note="x"),
        "supervision-gap": lambda: decide_gap(s, now, reference=audit.reference, decision="confirm", reason="x",
                                              by=worker.id),
        "dispute": lambda: dispute(s, now, reference=second.reference, by=worker.id, note="x"),
        "family-contact": lambda: record_advice(s, now, reference=second.reference, by=worker.id, contacts=[]),
        "moderate": lambda: authorise(s, command="moderate", staff_id=worker.id, subject=Subject(audit=second)),
        "agree-moderation": lambda: authorise(s, command="agree-moderation", staff_id=worker.id,
                                              subject=Subject(audit=second)),
        "approve-list": lambda: approve_list(s, now, cycle=audit.cycle, by=worker.id),
        "replace": lambda: replace(s, now, reference=audit.reference, by=worker.id, reason="x"),
        "withdraw": lambda: withdraw(s, now, reference=audit.reference, by=worker.id, reason="x"),
        "reschedule": lambda: reschedule(s, now, reference=meeting.reference, by=worker.id),
        "cant-make": lambda: authorise(s, command="cant-make", staff_id=worker.id,
                                       subject=Subject(participant_ids=frozenset({second.auditor_id}))),
        "run": lambda: authorise(s, command="run", staff_id=worker.id),
        "deep-dive": lambda: authorise(s, command="deep-dive", staff_id=worker.id),
        "plan-themes": lambda: authorise(s, command="plan-themes", staff_id=worker.id),
        "nominate": lambda: nominate(s, now, child_id=child, by=worker.id, month=Month(2027, 1), reason="x"),
        "ask-good-practice": lambda: ask_for_good_practice(s, now, month=Month(2027, 2), by=worker.id),
        "trend-follow-up": lambda: authorise(s, command="trend-follow-up", staff_id=worker.id,
                                             subject=Subject(service_id=audit.child.team.service_id)),
        "action-done": lambda: authorise(s, command="action-done", staff_id=worker.id,
                                         subject=Subject(owner=second.auditor)),
        "action-sign-off": lambda: authorise(s, command="action-sign-off", staff_id=worker.id,
                                             subject=Subject(owner=second.auditor)),
        "supervision-discussed": lambda: record_supervision_discussed(s, now, reference=second.reference,
                                                                      by=worker.id),
        "observe-done": lambda: authorise(s, command="observe-done", staff_id=worker.id,
                                          subject=Subject(observer_id=second.auditor_id)),
        "observe-recommend": lambda: authorise(s, command="observe-recommend", staff_id=worker.id,
                                               subject=Subject(audit=second, owner=second.auditor)),
        "mad-approve": lambda: authorise(s, command="mad-approve", staff_id=worker.id),
        "report-summary": lambda: authorise(s, command="report-summary", staff_id=worker.id),
        "report-notes": lambda: store_notes(s, month=Month.parse(audit.cycle.month), text="x", by=worker.id),
        "issue-report": lambda: issue_edition(s, now, month=Month.parse(audit.cycle.month), by=worker.id, seen=0),
        "console": lambda: authorise(s, command="console", staff_id=worker.id),
        # A practitioner may sign in and see their part of the tracker; an IRO may do neither.
        "console-sign-in": lambda: start_session(s, now, staff_id=iro.id, method="link"),
        "tracker": lambda: tracker_view(s, now, staff_id=iro.id, tab=Tab.AUDITS, args={}),
        "access-log": lambda: search_access_log(s, now, by=worker.id, args={}),
        "nominate-mad": lambda: authorise(s, command="nominate-mad", staff_id=worker.id),
        "questionnaire": lambda: answer_questionnaire(s, now, reference=second.reference, by=worker.id, answers={}),
    }
    assert set(attempts) == set(PERMISSIONS)
    events = s.scalar(select(func.count()).select_from(Event))
    for command, attempt in attempts.items():
        with pytest.raises(PermissionDenied, match=f"may not {command}"):
            attempt()
        s.rollback()
    assert s.scalar(select(func.count()).select_from(Event)) == events
    s.close()
