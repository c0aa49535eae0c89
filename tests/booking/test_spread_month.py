"""A 1,000-audit month, booked: every meeting after its notice, the days balanced, nobody over the daily cap.

The month is the benchmark's (benchmarks/workload.py): a synthetic authority of 20,000 children, March
2027 (due Wednesday 31 March, Easter on 26 and 29 March), drawn on 22 February, notified on the 23rd
and booked on the 24th at 09:00.
"""
from collections import Counter
from datetime import UTC, timedelta

from factories import context_at as ctx_at
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from auditcycle.booking.meetings import book
from auditcycle.core.clock import Month
from auditcycle.core.settings import Settings
from auditcycle.demo.seed import seed_authority
from auditcycle.models import Meeting
from auditcycle.models.enums import MeetingKind
from auditcycle.notices.queue import queue_notices
from auditcycle.sampling.cycle import draw, monthly_cycle

MONTH = Month(2027, 3)
SETTINGS = Settings(database_url="sqlite://")


def test_a_thousand_audit_month_is_booked_after_notice_spread_and_within_the_daily_cap(engine) -> None:
    f = SETTINGS.framework
    with sessionmaker(bind=engine).begin() as s:
        ctx = ctx_at("2027-02-22T08:00", SETTINGS)
        seed_authority(session=s, children=20_000, seed=7, now=ctx.now, timescales=ctx.timescales)
    with sessionmaker(bind=engine).begin() as s:
        assert draw(s, ctx_at("2027-02-22T09:00", SETTINGS), month=MONTH, size=1000, seed=7).audits == 1000
    with sessionmaker(bind=engine).begin() as s:
        queue_notices(s, ctx_at("2027-02-23T12:00", SETTINGS), cycle=monthly_cycle(s, MONTH))
    booking = ctx_at("2027-02-24T09:00", SETTINGS)
    with sessionmaker(bind=engine).begin() as s:
        cycle = monthly_cycle(s, MONTH)
        summary, due = book(s, booking, cycle=cycle), cycle.due_date
    # The family calls wait for the key worker's advice on reaching the family; none came, so a later run
    # books them on the imported details once the wait is over.
    after_wait = ctx_at("2027-02-25T12:45", SETTINGS)
    with sessionmaker(bind=engine).begin() as s:
        later = book(s, after_wait, cycle=monthly_cycle(s, MONTH))
    assert summary.unbooked == [] and later.booked > 0
    summary.booked += later.booked
    summary.unbooked += later.unbooked

    with sessionmaker(bind=engine)() as s:
        meetings = list(s.scalars(select(Meeting)))
    ts, tz = booking.timescales, booking.tz
    assert summary.booked == len(meetings) > 3000 and summary.unbooked == []

    # No meeting before its minimum notice from its invite, nor a learning conversation before the 5th working day.
    fifth, _ = ts.working_hours(ts.add_working_days(ts.first_working_day(MONTH), f.learning_conversation_from_working_day - 1))
    for m in meetings:
        sent = m.booked_at.replace(tzinfo=UTC)
        assert m.starts_at >= ts.working_days_after(sent, f.monthly_meeting_notice_working_days), m.reference
        if m.kind == MeetingKind.LEARNING_CONVERSATION:
            assert m.starts_at >= fifth, m.reference

    # The mean is over every working day of the window: from the first a meeting may fall on to the due date.
    first = max(ts.today(ts.working_days_after(booking.now, f.monthly_meeting_notice_working_days)),
                ts.first_working_day(MONTH))
    window = [first + timedelta(days=n) for n in range((due - first).days + 1)]
    working = [day for day in window if ts.is_working_day(day)]
    per_day = Counter(m.starts_at.astimezone(tz).date() for m in meetings)
    mean = len(meetings) / len(working)
    assert set(per_day) <= set(working)
    assert max(per_day[day] for day in working) <= 2 * mean, sorted(per_day.items())

    per_person = Counter((p, m.starts_at.astimezone(tz).date()) for m in meetings
                         for p in {m.organiser_id, m.attendee_id} - {None})
    assert max(per_person.values()) <= f.audit_meetings_per_person_per_day

