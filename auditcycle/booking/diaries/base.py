"""What every diary source answers: busy periods, working hours where it has them, and whose diary it could not read.

A source reads a set of people over one window with as few requests as it can (one a person, or one a group),
never one a meeting. A diary that cannot be read is named in `unread` with the reason, so the booking goes on
with the data that is there and the QA manager is told.
"""
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from auditcycle.booking.slots import Interval


@dataclass(frozen=True)
class WorkingHours:
    """The hours a person works, in their own time zone: weekdays (Monday 0) and a daily start and end."""

    weekdays: frozenset[int]
    start: time
    end: time
    tz: ZoneInfo

    def off_hours(self, start: datetime, end: datetime) -> list[Interval]:
        """Return the times outside these hours between two moments, as busy periods."""
        periods = []
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date()
        while day <= last:
            # Built from local wall-clock times, so a day of the clock change is 23 or 25 hours long.
            midnight = _local(day, time(0), self.tz)
            next_midnight = _local(day + timedelta(days=1), time(0), self.tz)
            if day.weekday() not in self.weekdays or self.end <= self.start:
                periods.append(Interval(midnight, next_midnight))
            else:
                periods.append(Interval(midnight, _local(day, self.start, self.tz)))
                periods.append(Interval(_local(day, self.end, self.tz), next_midnight))
            day += timedelta(days=1)
        return periods


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


@dataclass
class Availability:
    """What a diary source said about some people over a window."""

    busy: dict[str, list[Interval]] = field(default_factory=dict)
    hours: dict[str, WorkingHours] = field(default_factory=dict)
    # Staff id to why their diary could not be read, in plain English (no child's details: none were sent).
    unread: dict[str, str] = field(default_factory=dict)
    requests: int = 0

    def busy_with_hours(self, start: datetime, end: datetime) -> dict[str, list[Interval]]:
        """Return each person's busy periods with the time outside their working hours added as busy."""
        busy = {person: list(periods) for person, periods in self.busy.items()}
        for person, hours in self.hours.items():
            busy.setdefault(person, []).extend(hours.off_hours(start, end))
        return busy


class Diary(Protocol):
    """A source of staff diaries."""

    name: str

    def read(self, people: Mapping[str, str], start: datetime, end: datetime) -> Availability:
        """Read the diaries of people (staff id to email address) between two aware moments."""
        ...


class Unreadable(Exception):
    """A diary request that failed for good: the message says why, for the QA manager."""


class Retry(Exception):
    """A request worth trying again (throttled, or the server briefly away), after `wait` seconds."""

    def __init__(self, reason: str, wait: float) -> None:
        super().__init__(reason)
        self.wait = wait


def with_retries(attempt: Callable[[], object], *, retries: int, max_wait: float,
                 sleep: Callable[[float], None]) -> object:
    """Run an attempt, waiting as told and trying again on Retry; raise Unreadable when retries run out."""
    for tried in range(retries + 1):
        try:
            return attempt()
        except Retry as again:
            if again.wait > max_wait:
                raise Unreadable(f"{again}, and asked for {again.wait:g} seconds' wait, more than the "
                                 f"{max_wait:g} allowed") from None
            if tried == retries:
                raise Unreadable(f"{again}, still after {retries + 1} tries") from None
            sleep(again.wait)
    raise AssertionError("unreachable")


def by_address(people: Mapping[str, str]) -> dict[str, list[str]]:
    """Group staff ids by their email address, lower-cased: two records may share one mailbox."""
    grouped: dict[str, list[str]] = {}
    for staff_id, email in people.items():
        grouped.setdefault(email.lower(), []).append(staff_id)
    return grouped


def retry_after(value: str | None, default: float) -> float:
    """Read a Retry-After header in seconds (RFC 9110 §10.2.3), or the default when absent or a date."""
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default
