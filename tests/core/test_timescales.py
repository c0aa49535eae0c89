"""The calendar rules, as tables."""
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from auditcycle.core.clock import ClockError, Month, localize, parse_instant
from auditcycle.core.settings import FrameworkSettings, Settings
from auditcycle.core.timescales import Timescales

LONDON = ZoneInfo("Europe/London")
T = Timescales(FrameworkSettings(), LONDON)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 12, 24), True),   # Thursday
        (date(2026, 12, 25), False),  # Christmas Day
        (date(2026, 12, 26), False),  # Saturday (Boxing Day)
        (date(2026, 12, 28), False),  # substitute day for Boxing Day
        (date(2026, 12, 29), True),
        (date(2027, 1, 1), False),    # New Year's Day
        (date(2026, 5, 25), False),   # Spring bank holiday
        (date(2026, 8, 31), False),   # Summer bank holiday (England & Wales)
        (date(2026, 3, 17), True),    # St Patrick's Day is not an England & Wales holiday
        (date(2026, 11, 28), False),  # Saturday
        (date(2026, 11, 30), True),   # St Andrew's Day is Scotland only
    ],
)
def test_is_working_day_matches_england_and_wales(day: date, working: bool) -> None:
    assert T.is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 11, 26), 0, date(2026, 11, 26)),
        (date(2026, 11, 26), 1, date(2026, 11, 27)),
        (date(2026, 11, 27), 1, date(2026, 11, 30)),   # Friday -> Monday
        (date(2026, 11, 28), 1, date(2026, 11, 30)),   # Saturday -> Monday
        (date(2026, 12, 24), 1, date(2026, 12, 29)),   # over Christmas and the substitute day
        (date(2026, 12, 24), 3, date(2026, 12, 31)),
        (date(2026, 12, 31), 1, date(2027, 1, 4)),     # over New Year
        (date(2026, 12, 1), 5, date(2026, 12, 8)),
        (date(2026, 12, 1), 10, date(2026, 12, 15)),
        (date(2026, 12, 29), -1, date(2026, 12, 24)),
        (date(2026, 5, 22), 1, date(2026, 5, 26)),     # over the May bank holiday
    ],
)
def test_add_working_days_counts_the_date_as_day_zero(start: date, n: int, expected: date) -> None:
    assert T.add_working_days(start, n) == expected


@pytest.mark.parametrize(
    ("month", "last", "first"),
    [
        ("2026-12", date(2026, 12, 31), date(2026, 12, 1)),
        ("2026-01", date(2026, 1, 30), date(2026, 1, 2)),   # 31 Jan is a Saturday; 1 Jan a holiday
        ("2026-05", date(2026, 5, 29), date(2026, 5, 1)),
        ("2026-08", date(2026, 8, 28), date(2026, 8, 3)),   # 31 Aug is the bank holiday
        ("2027-04", date(2027, 4, 30), date(2027, 4, 1)),
        ("2027-03", date(2027, 3, 31), date(2027, 3, 1)),
        ("2026-10", date(2026, 10, 30), date(2026, 10, 1)),
    ],
)
def test_month_due_date_is_its_last_working_day(month: str, last: date, first: date) -> None:
    assert T.last_working_day(Month.parse(month)) == last
    assert T.first_working_day(Month.parse(month)) == first


@pytest.mark.parametrize(
    ("day", "due_utc"),
    [
        (date(2026, 12, 31), datetime(2026, 12, 31, 17, 0, tzinfo=UTC)),  # GMT
        (date(2026, 7, 31), datetime(2026, 7, 31, 16, 0, tzinfo=UTC)),    # BST
        (date(2026, 3, 30), datetime(2026, 3, 30, 16, 0, tzinfo=UTC)),    # the day after the clocks go forward
    ],
)
def test_due_on_a_date_means_end_of_working_hours(day: date, due_utc: datetime) -> None:
    assert T.due_at(day) == due_utc


def test_is_overdue_only_after_five_pm_local() -> None:
    assert not T.is_overdue(date(2026, 12, 31), localize(datetime(2026, 12, 31, 16, 59), LONDON))
    assert not T.is_overdue(date(2026, 12, 31), localize(datetime(2026, 12, 31, 17, 0), LONDON))
    assert T.is_overdue(date(2026, 12, 31), localize(datetime(2026, 12, 31, 17, 1), LONDON))


@pytest.mark.parametrize(
    ("last", "today", "gap"),
    [
        (date(2026, 5, 26), date(2026, 11, 26), True),    # exactly 6 months
        (date(2026, 5, 27), date(2026, 11, 26), False),   # a day short
        (date(2026, 5, 31), date(2026, 11, 30), True),    # 31 May + 6 months clamps to 30 Nov
        (date(2026, 5, 31), date(2026, 11, 29), False),
        (date(2025, 8, 31), date(2026, 2, 28), True),     # clamps to February's end
        (None, date(2026, 11, 26), True),                 # none recorded
        (date(2026, 11, 1), date(2026, 11, 26), False),
    ],
)
def test_supervision_gap_is_six_calendar_months_or_more(last, today, gap) -> None:
    assert T.supervision_gap(last, today) is gap


@pytest.mark.parametrize(
    ("raised", "deadline"),
    [
        # Friday afternoon -> Saturday afternoon: safeguarding does not stop at weekends.
        (datetime(2026, 11, 27, 15, 30, tzinfo=UTC), datetime(2026, 11, 28, 15, 30, tzinfo=UTC)),
        # Christmas Eve -> Christmas Day.
        (datetime(2026, 12, 24, 10, 0, tzinfo=UTC), datetime(2026, 12, 25, 10, 0, tzinfo=UTC)),
        # Across the spring clock change: 24 clock hours, so 10:00 BST local the next day.
        (localize(datetime(2026, 3, 28, 9, 0), LONDON), datetime(2026, 3, 29, 9, 0, tzinfo=UTC)),
    ],
)
def test_immediate_response_deadline_is_24_clock_hours(raised, deadline) -> None:
    assert T.immediate_response_deadline(raised) == deadline


def test_local_time_in_spring_gap_is_an_input_error() -> None:
    with pytest.raises(ClockError, match="does not exist in Europe/London"):
        parse_instant("2026-03-29T01:30", LONDON)


def test_local_time_in_autumn_overlap_means_first_occurrence() -> None:
    parsed = parse_instant("2026-10-25T01:30", LONDON)
    assert parsed.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_instant_with_zone_keeps_its_zone() -> None:
    assert parse_instant("2026-12-01T09:00+00:00", LONDON) == datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["2026-13", "26-01", "2026/01", "december", "2026-00", ""])
def test_month_parse_rejects_bad_months(bad: str) -> None:
    with pytest.raises(ClockError, match="YYYY-MM"):
        Month.parse(bad)


def test_month_arithmetic_wraps_years() -> None:
    assert str(Month.parse("2026-12").next()) == "2027-01"
    assert str(Month.parse("2027-01").previous()) == "2026-12"


def test_working_calendar_follows_configured_weekdays() -> None:
    four_day_week = Timescales(FrameworkSettings(working_weekdays=[0, 1, 2, 3]), LONDON)
    assert not four_day_week.is_working_day(date(2026, 11, 27))
    assert four_day_week.add_working_days(date(2026, 11, 26), 1) == date(2026, 11, 30)


@pytest.mark.parametrize("due, problem", [
    (date(2026, 12, 2), "is not after the submission date (2026-12-02)"),
    (date(2026, 12, 3), None),
    (date(2026, 12, 31), None),
    (date(2027, 1, 3), "is more than 31 days after the submission date (latest 2026-12-31)"),
])
def test_an_action_is_due_after_the_day_it_is_set_and_within_31_days(due: date, problem: str | None) -> None:
    ts = Timescales(Settings(database_url="sqlite://").framework, LONDON)

    assert ts.action_due_problem(due, date(2026, 12, 2), since="the submission date") == problem
    # The 31st day, Saturday 2 January, and New Year's Day before it are no working days.
    assert ts.latest_action_due(date(2026, 12, 2)) == date(2026, 12, 31)


@pytest.mark.parametrize("due, problem", [
    (date(2026, 12, 19), "is a Saturday, not a working day; the nearest earlier working day is Friday 2026-12-18"),
    (date(2026, 12, 20), "is a Sunday, not a working day; the nearest earlier working day is Friday 2026-12-18"),
    (date(2026, 12, 28), "is a bank holiday (Boxing Day (observed)), not a working day; "
                         "the nearest earlier working day is Thursday 2026-12-24"),
    (date(2027, 1, 1), "is a bank holiday (New Year's Day), not a working day; "
                       "the nearest earlier working day is Thursday 2026-12-31"),
    (date(2027, 1, 2), "is a Saturday, not a working day; the nearest earlier working day is Thursday 2026-12-31"),
])
def test_an_action_due_on_a_weekend_or_bank_holiday_names_the_working_day_before(due: date, problem: str) -> None:
    assert T.action_due_problem(due, date(2026, 12, 2), since="the submission date") == problem


def test_an_action_set_on_a_friday_for_the_weekend_names_the_next_working_day() -> None:
    problem = T.action_due_problem(date(2026, 12, 5), date(2026, 12, 4), since="today")

    assert problem == "is a Saturday, not a working day; the nearest working day after today is Monday 2026-12-07"


@pytest.mark.parametrize(("day", "reason"), [
    (date(2026, 12, 24), None),
    (date(2026, 12, 26), "a bank holiday (Boxing Day)"),
    (date(2026, 11, 29), "a Sunday"),
])
def test_why_not_working_names_the_weekday_or_the_bank_holiday(day: date, reason: str | None) -> None:
    assert T.why_not_working(day) == reason


@pytest.mark.parametrize(("sent", "n", "expected"), [
    ("2026-11-24T13:58", 1, (2026, 11, 25, 13, 58)),  # Tuesday afternoon: the same time next day
    ("2026-11-27T13:58", 1, (2026, 11, 30, 13, 58)),  # Friday: the weekend does not count
    ("2026-11-28T10:00", 1, (2026, 12, 1, 9)),  # Saturday: counts from Monday 09:00
    ("2026-11-24T17:30", 1, (2026, 11, 26, 9)),  # after hours: counts from the next morning
    ("2026-11-24T07:00", 1, (2026, 11, 25, 9)),  # before hours: counts from 09:00 that day
    ("2026-12-21T16:45", 3, (2026, 12, 24, 16, 45)),  # before Christmas: 22, 23 and 24 December
    ("2026-12-21T16:45", 4, (2026, 12, 29, 16, 45)),  # over Christmas: 25 to 28 December skipped
    ("2026-11-24T13:58", 0, (2026, 11, 24, 13, 58)),  # no notice: now, if within working hours
])
def test_working_days_after_counts_from_the_next_working_moment(sent: str, n: int, expected: tuple) -> None:
    assert T.working_days_after(parse_instant(sent, LONDON), n) == localize(datetime(*expected), LONDON)
