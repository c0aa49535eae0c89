"""The calendar rules of scheduled runs: the sampling day, and the day moderation starts."""
import calendar
from datetime import date, timedelta

import pytest
from factories import context_at as ctx_at

from auditcycle.core.clock import Month
from auditcycle.runs.phases import skip_reason
from auditcycle.runs.schedule import is_sampling_day, moderation_day
from auditcycle.sampling.schedule import last_full_week_monday, sampling_day

# England & Wales bank holidays 2026-2028 as published on gov.uk, written out by hand so the test does
# not share the holidays library with the code it checks.
BANK_HOLIDAYS = {date.fromisoformat(d) for d in [
    "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25",
    "2026-12-28",  # Boxing Day is a Saturday: substitute Monday
    "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30",
    "2027-12-27", "2027-12-28",  # Christmas Day and Boxing Day fall at the weekend: both substituted
    "2028-01-03",  # New Year's Day is a Saturday
    "2028-04-14", "2028-04-17", "2028-05-01", "2028-05-29", "2028-08-28", "2028-12-25", "2028-12-26",
]}
MONTHS = [Month(y, m) for y in (2026, 2027, 2028) for m in range(1, 13)]



TIMESCALES = ctx_at("2026-01-01T09:00").timescales


def brute_force_sampling_day(year: int, month: int) -> date:
    """Try every Monday of the month; keep the last whose whole week is in the month; walk to a working day."""
    days = [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]
    mondays = [d for d in days if d.weekday() == 0 and all((d + timedelta(days=i)).month == month for i in range(7))]
    day = mondays[-1]
    while day.weekday() >= 5 or day in BANK_HOLIDAYS:
        day += timedelta(days=1)
    return day


@pytest.mark.parametrize("month", MONTHS, ids=str)
def test_sampling_day_matches_brute_force_every_month_2026_to_2028(month: Month) -> None:
    expected = brute_force_sampling_day(month.year, month.month)

    actual = sampling_day(TIMESCALES, month)

    assert actual == expected
    assert Month.of(actual) == month


def test_sampling_day_may_2026_moves_off_the_spring_bank_holiday() -> None:
    # 31 May 2026 is a Sunday, so 25-31 May is the last full week. Its Monday, 25 May, is the spring
    # bank holiday; the first working day on or after it is Tuesday 26 May.
    may = Month(2026, 5)

    assert last_full_week_monday(may) == date(2026, 5, 25)
    assert sampling_day(TIMESCALES, may) == date(2026, 5, 26)


def test_sampling_day_december_2026_is_the_monday_before_christmas() -> None:
    # 31 December 2026 is a Thursday, so the week of Monday 28 December runs into January and is not
    # full. The last full week is 21-27 December, and Monday 21 December is a working day.
    # Monday 28 December is the substitute for Boxing Day (a Saturday): the rule must never give it.
    december = Month(2026, 12)

    assert last_full_week_monday(december) == date(2026, 12, 21)
    assert sampling_day(TIMESCALES, december) == date(2026, 12, 21)
    assert date(2026, 12, 28) not in {sampling_day(TIMESCALES, m) for m in MONTHS}


def test_sampling_day_december_2028_skips_christmas_and_boxing_day() -> None:
    # 31 December 2028 is a Sunday: the last full week is 25-31 December, whose Monday and Tuesday are
    # Christmas Day and Boxing Day, so sampling is Wednesday 27 December.
    assert sampling_day(TIMESCALES, Month(2028, 12)) == date(2028, 12, 27)


def test_is_sampling_day_only_on_the_day_in_local_time() -> None:
    assert is_sampling_day(ctx_at("2026-11-23T07:00"))
    assert not is_sampling_day(ctx_at("2026-11-24T07:00"))
    assert not is_sampling_day(ctx_at("2026-05-25T07:00"))
    assert is_sampling_day(ctx_at("2026-05-26T07:00"))
    # 23:30 UTC on Sunday 22 November is still Sunday in London (GMT): not the day.
    assert not is_sampling_day(ctx_at("2026-11-22T23:30+00:00"))


def test_skip_reason_the_draw_runs_only_on_the_sampling_day() -> None:
    assert skip_reason("sample", ctx_at("2026-11-23T08:00")) is None
    assert skip_reason("sample", ctx_at("2026-11-24T08:00")) == (
        "not the sampling day: this month's is Mon 23 Nov 2026; give a month to run sample now")


def test_moderation_day_is_the_first_working_day_after_the_due_date() -> None:
    # December 2026 is due on Thursday 31 December; 1 January is a bank holiday and then the weekend.
    assert moderation_day(TIMESCALES, Month(2026, 12)) == date(2027, 1, 4)
    assert moderation_day(TIMESCALES, Month(2026, 11)) == date(2026, 12, 1)


def test_skip_reason_moderate_waits_for_the_first_working_day_after_the_due_date() -> None:
    on_bank_holiday = skip_reason("moderate", ctx_at("2027-01-01T09:00"))

    assert on_bank_holiday == ("moderation of 2026-12 starts on Mon 04 Jan 2027, "
                               "the first working day after its due date")
    assert skip_reason("moderate", ctx_at("2027-01-04T09:00")) is None
    assert skip_reason("moderate", ctx_at("2027-01-15T09:00")) is None


def test_skip_reason_report_only_on_the_report_day() -> None:
    # The twelfth working day of December 2026: 1-4, 7-11 and 14-16 December.
    assert skip_reason("report", ctx_at("2026-12-16T10:00")) is None
    assert skip_reason("report", ctx_at("2026-12-15T10:00")) == "not the configured report day"
    assert skip_reason("report", ctx_at("2026-12-17T10:00")) == "not the configured report day"


@pytest.mark.parametrize("phase", ["chase", "responses", "escalate", "observe"])
def test_skip_reason_daily_phases_always_run(phase: str) -> None:
    assert skip_reason(phase, ctx_at("2026-11-24T08:00")) is None
