"""cant_make: a participant who cannot make a meeting's time gets the next free slot, by the booking rules."""
from datetime import UTC, datetime

import pytest
from conftest import PLANTED
from factories import context_at
from sqlalchemy import delete, func, select

from auditcycle.booking.meetings import CANT_MAKE, book, cant_make
from auditcycle.core.clock import Month
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.models import Audit, BusyPeriod, Event, Link, Meeting, OutboxMessage, Staff
from auditcycle.models.enums import MeetingKind, MeetingStatus
from auditcycle.notices.queue import queue_notices
from auditcycle.sampling.cycle import draw

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
