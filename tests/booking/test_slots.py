"""Meeting slots: edge cases as tables, and random diaries checked against a brute-force search."""
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditcycle.booking.slots import Booked, Interval, SlotRequest, Spread, Unbooked, find_slot, plan_slots
from auditcycle.core.clock import localize
from auditcycle.core.settings import FrameworkSettings
from auditcycle.core.timescales import Timescales

LONDON = ZoneInfo("Europe/London")
T = Timescales(FrameworkSettings(), LONDON)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return localize(datetime(year, month, day, hour, minute), LONDON)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def request(people=("S0012",), minutes=60, earliest=date(2026, 12, 1), latest=date(2026, 12, 31), key="R1"):
    return SlotRequest(key=key, people=tuple(people), minutes=minutes, earliest=earliest, latest=latest)


# Brute force: every aligned start in the window, every interval tested; slow but obviously right.


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def brute_force_start(req, busy, not_before=None, step_minutes=15):
    day = req.earliest
    while day <= req.latest:
        if T.is_working_day(day):
            opens, closes = T.working_hours(day)
            start = opens
            while start + timedelta(minutes=req.minutes) <= closes:
                end = start + timedelta(minutes=req.minutes)
                clear = all(
                    not overlaps(start, end, i.start, i.end) for p in req.people for i in busy.get(p, ())
                )
                if clear and (not_before is None or start >= not_before):
                    return start.astimezone(UTC)
                start += timedelta(minutes=step_minutes)
        day += timedelta(days=1)
    return None


# Tables.


def test_find_slot_christmas_week_skips_bank_holidays_and_substitute_day() -> None:
    req = request(earliest=date(2026, 12, 24), latest=date(2027, 1, 1))

    start = find_slot(req, {}, T, not_before=local(2026, 12, 24, 17, 0))

    assert start == utc(2026, 12, 29, 9, 0)


def test_find_slot_christmas_window_of_holidays_only_has_no_working_day() -> None:
    req = request(earliest=date(2026, 12, 25), latest=date(2026, 12, 28))

    _, unbooked = plan_slots([req], {}, T)

    assert unbooked == [Unbooked("R1", "no working day between 25 and 28 December 2026: it holds only weekends and bank holidays")]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 27), utc(2026, 3, 27, 9, 0)),    # Friday before the clocks go forward: GMT
        (date(2026, 3, 30), utc(2026, 3, 30, 8, 0)),    # Monday after: BST
        (date(2026, 10, 23), utc(2026, 10, 23, 8, 0)),  # Friday before the clocks go back: BST
        (date(2026, 10, 26), utc(2026, 10, 26, 9, 0)),  # Monday after: GMT
    ],
)
def test_find_slot_clock_change_weeks_open_at_nine_local(day: date, expected: datetime) -> None:
    start = find_slot(request(earliest=day, latest=day), {}, T)

    assert start == expected


def test_find_slot_weekend_of_clock_change_moves_to_monday_in_bst() -> None:
    start = find_slot(request(earliest=date(2026, 3, 28), latest=date(2026, 3, 31)), {}, T)

    assert start == utc(2026, 3, 30, 8, 0)


def test_find_slot_last_hour_after_clocks_go_forward_ends_at_five_local() -> None:
    busy = {"S0012": [Interval(local(2026, 3, 30, 8, 0), local(2026, 3, 30, 16, 0))]}

    start = find_slot(request(earliest=date(2026, 3, 30), latest=date(2026, 3, 30)), busy, T)

    assert start == utc(2026, 3, 30, 15, 0)


def test_plan_slots_fully_busy_diary_names_the_people() -> None:
    busy = {"S0012": [Interval(utc(2026, 11, 30), utc(2027, 1, 2))]}
    req = request(people=("S0012", "S0345"), key="A-2026-12-001:learning_conversation")

    booked, unbooked = plan_slots([req], busy, T)

    assert booked == []
    assert unbooked == [
        Unbooked(
            "A-2026-12-001:learning_conversation",
            "no 60-minute window between 1 and 31 December 2026 when both S0012 and S0345 are free within working hours",
        )
    ]


def test_plan_slots_three_busy_people_are_all_named() -> None:
    busy = {"S3": [Interval(utc(2026, 12, 7), utc(2026, 12, 8))]}
    req = request(people=("S1", "S2", "S3"), minutes=30, earliest=date(2026, 12, 7), latest=date(2026, 12, 7))

    _, unbooked = plan_slots([req], busy, T)

    assert unbooked == [
        Unbooked("R1", "no 30-minute window on 7 December 2026 when all of S1, S2 and S3 are free within working hours")
    ]


def test_plan_slots_weekend_window_says_there_is_no_working_day() -> None:
    req = request(earliest=date(2026, 12, 5), latest=date(2026, 12, 6))

    booked, unbooked = plan_slots([req], {}, T)

    assert booked == []
    assert unbooked == [Unbooked("R1", "no working day between 5 and 6 December 2026: it holds only weekends and bank holidays")]


def test_plan_slots_earliest_after_due_date_says_there_is_no_working_day() -> None:
    req = request(earliest=date(2026, 12, 10), latest=date(2026, 12, 9))

    _, unbooked = plan_slots([req], {}, T)

    assert unbooked == [
        Unbooked("R1", "no working day in the window: the earliest day, 10 December 2026, is after the due date, 9 December 2026")
    ]


def test_plan_slots_window_already_past_says_so() -> None:
    req = request(earliest=date(2026, 12, 30), latest=date(2026, 12, 31))

    _, unbooked = plan_slots([req], {}, T, not_before=local(2026, 12, 31, 16, 30))

    assert unbooked == [
        Unbooked("R1", "no 60-minute window within working hours between 30 and 31 December 2026 is left after 16:30 on 31 December 2026")
    ]


def test_plan_slots_meeting_longer_than_working_day_says_so() -> None:
    req = request(minutes=9 * 60, earliest=date(2026, 12, 31), latest=date(2027, 1, 5))

    _, unbooked = plan_slots([req], {}, T)

    assert unbooked == [
        Unbooked("R1", "a 540-minute meeting is longer than working hours on every working day between 31 December 2026 and 5 January 2027")
    ]


def test_find_slot_may_start_exactly_when_busy_period_ends() -> None:
    busy = {"S0012": [Interval(local(2026, 12, 1, 9, 0), local(2026, 12, 1, 10, 30))]}

    start = find_slot(request(), busy, T)

    assert start == utc(2026, 12, 1, 10, 30)


def test_find_slot_may_end_exactly_when_busy_period_starts() -> None:
    busy = {"S0012": [Interval(local(2026, 12, 1, 10, 0), local(2026, 12, 1, 17, 0))]}

    start = find_slot(request(), busy, T)

    assert start == utc(2026, 12, 1, 9, 0)


def test_find_slot_after_unaligned_busy_end_starts_on_next_quarter_hour() -> None:
    busy = {"S0012": [Interval(local(2026, 12, 1, 9, 0), local(2026, 12, 1, 10, 20))]}

    start = find_slot(request(), busy, T)

    assert start == utc(2026, 12, 1, 10, 30)


def test_find_slot_busy_times_in_any_zone_are_respected() -> None:
    new_york = ZoneInfo("America/New_York")
    busy = {"S0012": [Interval(datetime(2026, 12, 1, 4, 0, tzinfo=new_york), datetime(2026, 12, 1, 6, 0, tzinfo=new_york))]}

    start = find_slot(request(), busy, T)

    assert start == utc(2026, 12, 1, 11, 0)


def test_find_slot_needs_every_person_free_at_once() -> None:
    busy = {
        "S0012": [Interval(utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))],
        "S0345": [Interval(utc(2026, 12, 1, 10), utc(2026, 12, 1, 11, 30))],
    }

    start = find_slot(request(people=("S0012", "S0345")), busy, T)

    assert start == utc(2026, 12, 1, 11, 30)


def test_plan_slots_two_requests_for_same_person_do_not_overlap() -> None:
    first = request(people=("S0012", "S0345"), key="A1:learning_conversation")
    second = request(people=("S0012",), minutes=30, key="A1:family_call")

    booked, unbooked = plan_slots([first, second], {}, T)

    assert booked == [
        Booked("A1:learning_conversation", utc(2026, 12, 1, 9, 0), utc(2026, 12, 1, 10, 0)),
        Booked("A1:family_call", utc(2026, 12, 1, 10, 0), utc(2026, 12, 1, 10, 30)),
    ]
    assert unbooked == []


def test_plan_slots_different_people_may_share_a_time() -> None:
    booked, _ = plan_slots([request(people=("S1",), key="a"), request(people=("S2",), key="b")], {}, T)

    assert [b.start for b in booked] == [utc(2026, 12, 1, 9, 0), utc(2026, 12, 1, 9, 0)]


def test_find_slot_not_before_mid_quarter_rounds_up_to_next_quarter() -> None:
    start = find_slot(request(), {}, T, not_before=local(2026, 12, 1, 14, 7))

    assert start == utc(2026, 12, 1, 14, 15)


def test_find_slot_not_before_on_a_boundary_keeps_it() -> None:
    start = find_slot(request(), {}, T, not_before=local(2026, 12, 1, 14, 15))

    assert start == utc(2026, 12, 1, 14, 15)


def test_find_slot_not_before_too_late_in_day_moves_to_next_working_day() -> None:
    start = find_slot(request(), {}, T, not_before=local(2026, 12, 4, 16, 5))

    assert start == utc(2026, 12, 7, 9, 0)


def test_find_slot_step_aligns_from_start_of_working_hours() -> None:
    half_past_eight = Timescales(FrameworkSettings(working_day_start=time(8, 30)), LONDON)

    start = find_slot(request(), {}, half_past_eight, not_before=local(2026, 12, 1, 9, 10), step_minutes=20)

    assert start == utc(2026, 12, 1, 9, 10)


def test_find_slot_naive_not_before_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        find_slot(request(), {}, T, not_before=datetime(2026, 12, 1, 9, 0))


def test_interval_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        Interval(datetime(2026, 12, 1, 9), utc(2026, 12, 1, 10))


def test_interval_across_the_autumn_clock_change_is_accepted() -> None:
    """01:05 BST to 01:00 GMT on 25 Oct 2026 lasts 55 minutes, though its wall clock goes backwards."""
    start = utc(2026, 10, 25, 0, 5).astimezone(LONDON)
    end = utc(2026, 10, 25, 1, 0).astimezone(LONDON)
    assert (start.hour, start.minute, end.hour, end.minute, end.fold) == (1, 5, 1, 0, 1)

    interval = Interval(start, end)

    assert interval.end - interval.start == timedelta(minutes=55)
    with pytest.raises(ValueError, match="before it starts"):
        Interval(end, start)


def test_slot_request_without_people_is_refused() -> None:
    with pytest.raises(ValueError, match="nobody"):
        request(people=())


# Random diaries.

BASES = [date(2026, 3, 23), date(2026, 10, 19), date(2026, 12, 21)]  # spring change, autumn change, Christmas
PEOPLE = ["S1", "S2", "S3", "S4"]
ZONES = [UTC, LONDON]


@st.composite
def diaries(draw):
    base = draw(st.sampled_from(BASES))
    origin = datetime.combine(base, time(0), tzinfo=UTC)
    people = PEOPLE[: draw(st.integers(2, 4))]
    busy: dict[str, list[Interval]] = {}
    for person in people:
        intervals: list[Interval] = []
        cursor = draw(st.integers(0, 21 * 24 * 12)) * 5
        for _ in range(draw(st.integers(0, 12))):
            # Five-minute grid so periods often touch exactly and often miss the quarter hours.
            if draw(st.booleans()):
                cursor = draw(st.integers(0, 21 * 24 * 12)) * 5
            length = draw(st.one_of(st.integers(1, 48), st.integers(49, 12 * 24 * 3))) * 5
            zone = draw(st.sampled_from(ZONES))
            start = origin + timedelta(minutes=cursor)
            intervals.append(Interval(start.astimezone(zone), (start + timedelta(minutes=length)).astimezone(zone)))
            cursor += length  # the next period, unless redrawn, touches this one's end
        busy[person] = intervals
    requests = []
    for n in range(draw(st.integers(1, 8))):
        who = draw(st.lists(st.sampled_from(people), min_size=1, max_size=len(people), unique=True))
        earliest = base + timedelta(days=draw(st.integers(0, 20)))
        latest = earliest + timedelta(days=draw(st.integers(-1, 8)))
        minutes = draw(st.sampled_from([15, 30, 45, 60, 90, 240, 480, 495]))
        requests.append(SlotRequest(f"R{n}", tuple(who), minutes, earliest, latest))
    not_before = draw(st.one_of(st.none(), st.integers(0, 21 * 24 * 60).map(lambda m: origin + timedelta(minutes=m))))
    step = draw(st.sampled_from([15, 15, 30, 20, 10]))
    return busy, requests, not_before, step


def assert_valid(booking: Booked, req: SlotRequest, busy, not_before) -> None:
    assert booking.start.tzinfo is UTC and booking.end.tzinfo is UTC
    assert booking.end - booking.start == timedelta(minutes=req.minutes)
    day = booking.start.astimezone(LONDON).date()
    assert T.is_working_day(day)
    opens, closes = T.working_hours(day)
    assert opens <= booking.start and booking.end <= closes
    assert time(9, 0) <= booking.start.astimezone(LONDON).time() and booking.end.astimezone(LONDON).time() <= time(17, 0)
    assert req.earliest <= day <= req.latest
    assert not_before is None or booking.start >= not_before
    for person in req.people:
        for i in busy.get(person, ()):
            assert not overlaps(booking.start, booking.end, i.start, i.end)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(diaries())
def test_find_slot_random_diaries_matches_brute_force(case) -> None:
    busy, requests, not_before, step = case
    for req in requests:
        start = find_slot(req, busy, T, not_before=not_before, step_minutes=step)

        assert start == brute_force_start(req, busy, not_before, step)
        if start is not None:
            assert_valid(Booked(req.key, start, start + timedelta(minutes=req.minutes)), req, busy, not_before)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(diaries())
def test_plan_slots_random_diaries_books_valid_non_overlapping_slots(case) -> None:
    busy, requests, not_before, step = case

    booked, unbooked = plan_slots(requests, busy, T, not_before=not_before, step_minutes=step)

    by_key = {r.key: r for r in requests}
    assert sorted([b.key for b in booked] + [u.key for u in unbooked]) == sorted(by_key)
    for booking in booked:
        assert_valid(booking, by_key[booking.key], busy, not_before)
    for a in booked:
        for b in booked:
            shared = set(by_key[a.key].people) & set(by_key[b.key].people)
            if a.key != b.key and shared:
                assert not overlaps(a.start, a.end, b.start, b.end)
    # Replaying in order against the brute force, each booking joining its people's diaries.
    diary = {p: list(v) for p, v in busy.items()}
    results = {b.key: b for b in booked}
    for req in requests:
        expected = brute_force_start(req, diary, not_before, step)
        if expected is None:
            assert req.key not in results
            continue
        assert results[req.key].start == expected
        for person in req.people:
            diary.setdefault(person, []).append(Interval(results[req.key].start, results[req.key].end))


# Spreading a batch across its window.


def test_plan_slots_spread_puts_each_request_on_the_least_loaded_day_earlier_first() -> None:
    requests = [request(people=(f"S{n}",), key=f"R{n}", earliest=date(2026, 12, 1), latest=date(2026, 12, 3))
                for n in range(6)]

    booked, unbooked = plan_slots(requests, {}, T, spread=Spread(daily_cap=2))

    days = [b.start.astimezone(LONDON).date() for b in booked]
    assert not unbooked
    assert days == [date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)] * 2


def test_plan_slots_spread_starts_a_days_meetings_in_its_quieter_hours() -> None:
    requests = [request(people=(f"S{n}",), key=f"R{n}", earliest=date(2026, 12, 1), latest=date(2026, 12, 1))
                for n in range(3)]

    booked, _ = plan_slots(requests, {}, T, spread=Spread(daily_cap=2))

    assert [b.start for b in booked] == [local(2026, 12, 1, 9), local(2026, 12, 1, 10), local(2026, 12, 1, 11)]


def test_plan_slots_spread_counts_existing_meetings_towards_the_days_load() -> None:
    existing = [(local(2026, 12, 1, 9), ("S9",)), (local(2026, 12, 1, 10), ("S8",))]

    booked, _ = plan_slots([request(people=("S1",), latest=date(2026, 12, 2))], {}, T,
                           spread=Spread(daily_cap=2, existing=existing))

    assert [b.start for b in booked] == [local(2026, 12, 2, 9)]


def test_plan_slots_spread_keeps_a_person_under_the_daily_cap_and_says_why_not() -> None:
    existing = [(local(2026, 12, 1, 9), ("S1",)), (local(2026, 12, 1, 10), ("S1", "S2"))]
    requests = [request(people=("S1",), key="A", latest=date(2026, 12, 1)),
                request(people=("S2",), key="B", latest=date(2026, 12, 1))]

    booked, unbooked = plan_slots(requests, {}, T, spread=Spread(daily_cap=2, existing=existing))

    assert [b.key for b in booked] == ["B"]
    assert unbooked == [Unbooked("A", "each working day on 1 December 2026 when S1 is free for 60 minutes already "
                                      "holds 2 audit meetings for them (the daily limit per person)")]


def test_plan_slots_spread_spreads_one_persons_meetings_over_their_days() -> None:
    requests = [request(people=("S1", f"K{n}"), key=f"R{n}", latest=date(2026, 12, 3)) for n in range(3)]
    # After the first meeting each day holds one, a tie the earlier day would win; S1's own load decides first.
    existing = [(local(2026, 12, 2, 9), ("X",)), (local(2026, 12, 3, 9), ("Y",))]

    booked, _ = plan_slots(requests, {}, T, spread=Spread(daily_cap=2, existing=existing))

    assert sorted(b.start.astimezone(LONDON).date() for b in booked) == [
        date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)]


def test_find_slot_request_not_before_is_its_notice_on_top_of_the_runs() -> None:
    req = SlotRequest(key="R", people=("S1",), minutes=60, earliest=date(2026, 12, 1), latest=date(2026, 12, 31),
                      not_before=local(2026, 12, 4, 14))

    assert find_slot(req, {}, T, not_before=local(2026, 12, 1, 9)) == local(2026, 12, 4, 14)
    assert find_slot(req, {}, T, not_before=local(2026, 12, 7, 10)) == local(2026, 12, 7, 10)


def test_spread_with_no_room_a_day_is_refused() -> None:
    with pytest.raises(ValueError, match="daily_cap must be at least 1"):
        Spread(daily_cap=0)


def test_find_slot_with_a_spread_skips_a_day_on_which_a_person_is_at_the_cap() -> None:
    existing = [(local(2026, 12, 1, 9), ("S1",)), (local(2026, 12, 1, 10), ("S1", "S2"))]

    start = find_slot(request(people=("S1", "S3")), {}, T, spread=Spread(daily_cap=2, existing=existing))

    assert start == local(2026, 12, 2, 9)
