"""The one clock: every time decision reads `now` from here, so a month can be replayed."""
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from auditcycle.core.errors import UserError, brief


class ClockError(UserError, ValueError):
    """A time that cannot be used as given."""


# Every date the cycle works with falls in these years; outside them date arithmetic overflows
# (9999-12-31 plus a day) and the value is a typing slip, never a real audit or diary entry.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def in_supported_years(day: date) -> bool:
    """Say whether a date or date-time falls in the years the cycle works with."""
    return EARLIEST_YEAR <= day.year <= LATEST_YEAR


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """Attach a zone to a wall-clock time; refuse the spring gap, take the first of the autumn overlap."""
    if naive.tzinfo is not None:
        return naive
    aware = naive.replace(tzinfo=tz, fold=0)
    round_trip = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if round_trip != naive.replace(fold=0):
        raise ClockError(
            f"{naive.isoformat(timespec='minutes')} does not exist in {tz.key}: "
            "the clocks go forward then; give a time outside the gap"
        )
    return aware


def parse_instant(value: str, tz: ZoneInfo) -> datetime:
    """Parse an ISO datetime; one without a zone is local time in `tz`."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ClockError(f"{brief(value)} is not an ISO date-time such as 2026-12-01T09:00") from exc
    if not in_supported_years(parsed):
        raise ClockError(f"{brief(value)} is outside the years {EARLIEST_YEAR} to {LATEST_YEAR}")
    return localize(parsed, tz)


def now(value: str | None, tz: ZoneInfo) -> datetime:
    """Return the decision clock: `--now` if given, else the current time, in `tz`."""
    if value is None:
        return datetime.now(tz)
    return parse_instant(value, tz).astimezone(tz)


def wall_clock() -> datetime:
    """Return the real time, which every decision record keeps beside the `--now` time."""
    return datetime.now(UTC)


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month such as the audit month 2026-12."""

    year: int
    month: int

    @classmethod
    def parse(cls, value: str) -> "Month":
        """Parse YYYY-MM."""
        try:
            year_s, month_s = value.strip().split("-")
            result = cls(int(year_s), int(month_s))
        except ValueError:
            raise ClockError(f"{brief(value)} is not a month in the form YYYY-MM, such as 2026-12") from None
        if (not 1 <= result.month <= 12 or not EARLIEST_YEAR <= result.year <= LATEST_YEAR
                or not (len(year_s) == 4 and len(month_s) == 2)):
            raise ClockError(f"{brief(value)} is not a month in the form YYYY-MM, such as 2026-12")
        return result

    @classmethod
    def of(cls, day: date) -> "Month":
        """Return the month a day falls in."""
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        """Return the first calendar day."""
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        """Return the last calendar day."""
        return date.fromordinal(self.next().first_day.toordinal() - 1)

    def next(self) -> "Month":
        """Return the following month."""
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> "Month":
        """Return the preceding month."""
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def add_months(day: date, months: int) -> date:
    """Move a date by calendar months, clamping to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = Month(year, month + 1).last_day.day
    return date(year, month + 1, min(day.day, last))
