"""The calendar rules every phase uses: working days, due times, gaps and deadlines."""
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

from auditcycle.core.clock import Month, add_months, localize
from auditcycle.core.settings import FrameworkSettings


class Timescales:
    """The framework's calendar in one place, for one council's settings and zone."""

    def __init__(self, framework: FrameworkSettings, tz: ZoneInfo | str) -> None:
        self.framework = framework
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz

    @cached_property
    def _bank_holidays(self) -> holidays.HolidayBase:
        return holidays.country_holidays(
            self.framework.bank_holiday_country, subdiv=self.framework.bank_holiday_subdivision
        )

    def is_bank_holiday(self, day: date) -> bool:
        """Say whether a day is a bank holiday (including substitute days)."""
        return day in self._bank_holidays

    def moderation_closes(self, due: date) -> date:
        """Return the last day of a cycle's moderation window: N working days after its due date."""
        return self.add_working_days(due, self.framework.moderation_close_working_days)

    def list_review_closes(self, drawn_at: datetime) -> datetime:
        """Return when a monthly list drawn at a moment is released unapproved: a working day later, at noon by default."""
        day = self.add_working_days(self.today(drawn_at), self.framework.list_review_working_days)
        return localize(datetime.combine(day, self.framework.list_review_time), self.tz)

    def is_working_day(self, day: date) -> bool:
        """Say whether a day is a working weekday and not a bank holiday."""
        return day.weekday() in self.framework.working_weekdays and not self.is_bank_holiday(day)

    def why_not_working(self, day: date) -> str | None:
        """Say what makes a day no working day ('a Saturday', 'a bank holiday (Boxing Day)'), or None if it is one."""
        if self.is_working_day(day):
            return None
        if name := self._bank_holidays.get(day):
            return f"a bank holiday ({name})"
        return f"a {day:%A}"

    def add_working_days(self, day: date, n: int) -> date:
        """Count n working days from a day, which is day 0; negative n counts back."""
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        current = day
        while remaining:
            current += timedelta(days=step)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def next_working_day(self, day: date) -> date:
        """Return the working day after a day."""
        return self.add_working_days(day, 1)

    def working_day_on_or_after(self, day: date) -> date:
        """Return the day itself if it is a working day, else the next one."""
        return day if self.is_working_day(day) else self.next_working_day(day)

    def working_day_on_or_before(self, day: date) -> date:
        """Return the day itself if it is a working day, else the one before."""
        return day if self.is_working_day(day) else self.add_working_days(day, -1)

    def working_days_after(self, moment: datetime, n: int) -> datetime:
        """Return the moment n working days after a moment, counted from the next moment within working hours."""
        local = moment.astimezone(self.tz)
        day, at = local.date(), local.time()
        opens, closes = self.working_hours(day)
        # Sent out of hours, a notice starts to run when the office next opens: Saturday counts from Monday 09:00.
        if not self.is_working_day(day) or local >= closes:
            day, at = self.next_working_day(day), self.framework.working_day_start
        elif local < opens:
            at = self.framework.working_day_start
        return localize(datetime.combine(self.add_working_days(day, n), at), self.tz)

    def working_days_between(self, start: date, end: date) -> int:
        """Count working days after start up to and including end (negative if end is earlier)."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(
            1 for i in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(days=i))
        )

    def last_working_day(self, month: Month) -> date:
        """Return a month's last working day: the audit month's due date and its 'end of month'."""
        return self.working_day_on_or_before(month.last_day)

    def first_working_day(self, month: Month) -> date:
        """Return a month's first working day."""
        return self.working_day_on_or_after(month.first_day)

    def latest_action_due(self, today: date) -> date:
        """Return the latest due date an action set on a day may have: the last working day within the limit."""
        return self.working_day_on_or_before(today + timedelta(days=self.framework.action_max_days))

    def action_due_problem(self, due: date, today: date, *, since: str) -> str | None:
        """Say why an action's due date set on a day breaks the rules (a working day, after it, within the limit)."""
        limit = today + timedelta(days=self.framework.action_max_days)
        if due <= today:
            return f"is not after {since} ({today})"
        if due > limit:
            return (f"is more than {self.framework.action_max_days} days after {since} "
                    f"(latest {self.latest_action_due(today)})")
        if reason := self.why_not_working(due):
            earlier = self.working_day_on_or_before(due)
            if earlier > today:
                return f"is {reason}, not a working day; the nearest earlier working day is {earlier:%A} {earlier}"
            # The day before is the day the action is set, or earlier: only a later working day will do.
            later = self.working_day_on_or_after(due)
            return f"is {reason}, not a working day; the nearest working day after {since} is {later:%A} {later}"
        return None

    def due_at(self, day: date) -> datetime:
        """Return the moment something due on a day falls due: the end of working hours."""
        return localize(datetime.combine(day, self.framework.working_day_end), self.tz)

    def working_hours(self, day: date) -> tuple[datetime, datetime]:
        """Return the start and end of working hours on a day, as aware local times."""
        start = localize(datetime.combine(day, self.framework.working_day_start), self.tz)
        return start, self.due_at(day)

    def is_overdue(self, due: date, at: datetime) -> bool:
        """Say whether something due on a day is overdue at a moment."""
        return at > self.due_at(due)

    def supervision_gap(self, last_supervision: date | None, today: date) -> bool:
        """Say whether the gap since supervision is the configured months or more (none recorded counts)."""
        if last_supervision is None:
            return True
        return today >= add_months(last_supervision, self.framework.supervision_gap_months)

    def immediate_response_deadline(self, raised_at: datetime) -> datetime:
        """Return the deadline: 24 clock hours later, weekends and nights included."""
        # Add in UTC: aware local arithmetic is wall-clock and would drift an hour at a clock change.
        return raised_at.astimezone(UTC) + timedelta(hours=self.framework.immediate_response_hours)

    def reaudit_cutoff(self, today: date) -> date:
        """Return the earliest audit date that still excludes a child from the draw."""
        return add_months(today, -self.framework.reaudit_exclusion_months)

    def today(self, now: datetime) -> date:
        """Return the local calendar date of a moment."""
        return now.astimezone(self.tz).date()
