"""cant_make: someone who cannot make a meeting's time gets the next time by that meeting's own rules.

The journeys (tests/web/test_meeting_journeys.py, tests/web/test_cant_make_journeys.py) follow the links in
Chromium; here are the refusals and edges of each kind.
"""
from datetime import UTC, datetime, timedelta

import pytest
from conftest import PLANTED
from factories import context_at
from sqlalchemy import delete, func, select

from auditcycle.booking.meetings import CANT_MAKE, book
from auditcycle.core.clock import Month
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.invitations.cant_make import cant_make
from auditcycle.learning.culture import invite_learning_session, nominate_interview
from auditcycle.models import (
    Audit,
    AuditCycle,
    BusyPeriod,
    Event,
    Link,
    Meeting,
    OutboxMessage,
    SessionApology,
    Staff,
    Submission,
)
from auditcycle.models.enums import AuditStatus, MeetingKind, MeetingStatus, Role
from auditcycle.moderation.panel import panel_attendees, select_for_moderation
from auditcycle.notices.queue import queue_notices
from auditcycle.sampling.cycle import draw
from auditcycle.submissions.grades import record_grades

ASKED = "2026-11-26T10:00"


@pytest.fixture
def meeting(s, settings) -> Meeting:
    """December drawn, announced and booked; its first learning conversation."""
    draw(s, context_at("2026-11-23T09:00", settings), month=Month(2026, 12), size=2, seed=21)
    s.commit()
    s.execute(delete(OutboxMessage))
    cycle = s.scalars(select(Audit)).first().cycle
    queue_notices(s, context_at("2026-11-24T12:00", settings), cycle=cycle)
    book(s, context_at("2026-11-25T09:00", settings), cycle=cycle)
    s.commit()
    return s.scalars(select(Meeting).where(Meeting.kind == MeetingKind.LEARNING_CONVERSATION)
                     .order_by(Meeting.id)).first()


def _updates(s, meeting: Meeting) -> int:
    return s.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.subject_ref == meeting.reference, OutboxMessage.idempotency_key.contains(":update-")))


def test_the_meeting_moves_to_the_next_free_slot_and_everyone_is_sent_the_update(s, settings, meeting) -> None:
    before = meeting.starts_at
    reason = f"Court hearing for {PLANTED['child_first']}'s sibling"

    moved = cant_make(s, context_at(ASKED, settings), reference=meeting.reference, by=meeting.attendee_id,
                      reason=reason, sequence=0)

    assert moved.starts_at > before and moved.sequence == 1 and moved.status == MeetingStatus.BOOKED
    assert (meeting.starts_at, meeting.sequence) == (moved.starts_at, 1)
    assert _updates(s, meeting) == 2  # the organiser and the attendee, in the same transaction
    detail = s.scalar(select(Event.detail).where(Event.kind == "meeting-cant-make"))
    assert detail.startswith(f"{meeting.attendee.name} cannot make ") and "Court hearing" in detail
    assert PLANTED["child_first"] not in detail  # through the redactor
    texts = list(s.scalars(select(OutboxMessage.body_text).where(OutboxMessage.subject_ref == meeting.reference)))
    assert all(PLANTED["child_first"] not in t for t in texts)
    # Each participant's update carries a link about the new time.
    assert set(s.scalars(select(Link.subject_ref).where(Link.purpose == CANT_MAKE, Link.subject_ref.startswith(
        meeting.reference)))) == {f"{meeting.reference}:0", f"{meeting.reference}:1"}


def test_an_answer_to_a_time_the_meeting_has_left_is_refused(s, settings, meeting) -> None:
    cant_make(s, context_at(ASKED, settings), reference=meeting.reference, by=meeting.attendee_id, sequence=0)

    with pytest.raises(UserError, match="has moved since that invite"):
        cant_make(s, context_at(ASKED, settings), reference=meeting.reference, by=meeting.organiser_id, sequence=0)


def test_only_the_meeting_s_own_people_may_say_they_cannot_make_it(s, settings, meeting) -> None:
    stranger = s.scalars(select(Staff).where(Staff.id.not_in([meeting.organiser_id, meeting.attendee_id]))
                         .order_by(Staff.id)).first()

    with pytest.raises(PermissionDenied, match="may not cant-make"):
        cant_make(s, context_at(ASKED, settings), reference=meeting.reference, by=stranger.id)


def test_a_started_or_cancelled_meeting_is_not_moved(s, settings, meeting) -> None:
    late = meeting.starts_at.astimezone(UTC).replace(tzinfo=None).isoformat()
    with pytest.raises(UserError, match="has already started"):
        cant_make(s, context_at(late, settings), reference=meeting.reference, by=meeting.attendee_id)
    meeting.status = MeetingStatus.CANCELLED
    with pytest.raises(UserError, match="there is no time to move"):
        cant_make(s, context_at(ASKED, settings), reference=meeting.reference, by=meeting.attendee_id)


def test_with_no_free_slot_before_the_due_date_it_stays_and_says_who_can_help(s, settings, meeting) -> None:
    before = meeting.starts_at
    s.add(BusyPeriod(staff_id=meeting.organiser_id, starts_at=datetime(2026, 11, 26, tzinfo=UTC),
                     ends_at=datetime(2027, 2, 1, tzinfo=UTC)))
    s.flush()

    with pytest.raises(UserError, match="no other time is free .* Quality Assurance team"):
        cant_make(s, context_at(ASKED, settings), reference=meeting.reference, by=meeting.attendee_id)
    assert meeting.starts_at == before and _updates(s, meeting) == 0


def test_a_reference_that_names_no_meeting_is_refused(s, settings) -> None:
    with pytest.raises(UserError, match="^NOPE-panel: no meeting has that reference"):
        cant_make(s, context_at(ASKED, settings), reference="NOPE-panel", by="S0001")


def _december_submitted(s, settings, grades: list[str]) -> AuditCycle:
    draw(s, context_at("2026-11-23T09:00", settings), month=Month(2026, 12), size=len(grades), seed=21)
    s.commit()
    audits = list(s.scalars(select(Audit).order_by(Audit.id)))
    ctx = context_at("2026-12-20T10:00", settings)
    for audit, grade in zip(audits, grades, strict=True):
        submission = Submission(audit_id=audit.id, submitted_by_id=audit.auditor_id, overall=grade,
                                submitted_at=ctx.now, recorded_at=ctx.now)
        s.add(submission)
        s.flush()
        record_grades(s, audit=audit, submission=submission, grades=dict.fromkeys(settings.framework.domains, grade),
                      overall=grade, by=audit.auditor_id, reason="submission", now=ctx.now)
        audit.status = AuditStatus.SUBMITTED
    s.commit()
    return audits[0].cycle


def test_only_those_invited_to_the_panel_may_move_it(s, settings) -> None:
    cycle = _december_submitted(s, settings, ["good", "inadequate", "requires_improvement"])
    select_for_moderation(s, context_at("2027-01-04T09:00", settings), cycle=cycle)
    invited = {p.id for p in panel_attendees(s, cycle)}
    stranger = s.scalars(select(Staff).where(Staff.active, Staff.id.not_in(invited)).order_by(Staff.id)).first()
    before = cycle.moderation_starts_at

    with pytest.raises(PermissionDenied, match="may not cant-make"):
        cant_make(s, context_at("2027-01-05T10:00", settings), reference=f"{cycle.reference}-panel", by=stranger.id,
                  sequence=0)

    assert (cycle.moderation_starts_at, cycle.moderation_sequence) == (before, 0)


def test_an_interview_with_no_hour_free_in_its_window_stays_and_says_who_can_help(s, settings) -> None:
    practitioner = s.scalars(select(Staff).where(Staff.role == Role.KEY_WORKER, Staff.active)
                             .order_by(Staff.id)).first()
    asked = context_at("2027-01-29T17:00", settings)
    mad = nominate_interview(s, context_at("2027-01-29T16:30", settings), practitioner_id=practitioner.id,
                             by=practitioner.manager_id, note="Good outcome.")
    before = (mad.starts_at, mad.sequence)
    s.add(BusyPeriod(staff_id=mad.interviewer_id, starts_at=asked.now, ends_at=asked.now + timedelta(days=40)))
    s.flush()

    with pytest.raises(UserError, match=r"no other time is free for MAD-I-1 on or before .* Quality Assurance"):
        cant_make(s, asked, reference=mad.reference, by=practitioner.id, sequence=0)

    assert (mad.starts_at, mad.sequence) == before
    assert s.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.subject_ref == mad.reference, OutboxMessage.step.startswith("update-"))) == 0


def test_a_second_apology_for_the_learning_session_is_refused_and_nothing_more_is_sent(s, settings) -> None:
    cycle = _december_submitted(s, settings, ["requires_improvement"] * 2)
    select_for_moderation(s, context_at("2027-01-18T09:00", settings), cycle=cycle)
    invite_learning_session(s, context_at("2027-01-18T09:00", settings), cycle=cycle)
    auditor_id = s.scalar(select(Audit.auditor_id).where(Audit.cycle_id == cycle.id).order_by(Audit.id))
    asked = context_at("2027-01-19T11:00", settings)
    reference = f"{cycle.reference}-learning"
    cant_make(s, asked, reference=reference, by=auditor_id, reason="On leave", sequence=0)
    queued = s.scalar(select(func.count()).select_from(OutboxMessage))

    with pytest.raises(UserError, match="already sent apologies for this session, at 11:00 on Tuesday 19 January"):
        cant_make(s, asked, reference=reference, by=auditor_id, sequence=0)

    assert s.scalar(select(func.count()).select_from(SessionApology)) == 1
    assert s.scalar(select(func.count()).select_from(OutboxMessage)) == queued
    assert s.get(AuditCycle, cycle.id).learning_starts_at == cycle.learning_starts_at


def test_someone_not_invited_to_the_learning_session_may_not_send_apologies_for_it(s, settings) -> None:
    cycle = _december_submitted(s, settings, ["requires_improvement"] * 2)
    select_for_moderation(s, context_at("2027-01-18T09:00", settings), cycle=cycle)
    invite_learning_session(s, context_at("2027-01-18T09:00", settings), cycle=cycle)
    invited = set(s.scalars(select(OutboxMessage.recipient_id).where(OutboxMessage.calendar_method == "REQUEST")))
    stranger = s.scalars(select(Staff).where(Staff.active, Staff.id.not_in(invited)).order_by(Staff.id)).first()

    with pytest.raises(PermissionDenied, match="may not cant-make"):
        cant_make(s, context_at("2027-01-19T11:00", settings), reference=f"{cycle.reference}-learning",
                  by=stranger.id, sequence=0)

    assert s.scalar(select(func.count()).select_from(SessionApology)) == 0
