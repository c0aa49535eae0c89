"""The one clock: every time decision reads `now` from here, so a month can be replayed."""
import re
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


# ASCII digits only: `\d` would also take Arabic-Indic and other digits, which no one means as a date.
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DAY_AND_TIME = re.compile(r"[0-9]{1,4}[-/][0-9]{1,2}[-/][0-9]{1,4}[T ][0-9]")


def iso_day(value: object) -> date | None:
    """Return the date of a string written exactly YYYY-MM-DD, else None.

    Nothing else is taken for a date: not a number, not a date-time, not the compact or week forms
    (20261204, 2026-W49-5) that `date.fromisoformat` also reads.
    """
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def not_a_day(value: object) -> str:
    """Say in a few words what a value given for a date is instead, without repeating it."""
    if value is None:
        return "null, not a date"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'}, not a date"
    if isinstance(value, int | float):
        return "a number, not a date"
    if not isinstance(value, str):
        return "not a date"
    text = value.strip()
    if text.isascii() and text.isdigit():
        return "a number, not a date"
    if _DAY_AND_TIME.match(text):
        return "a date and time, not a date"
    return "not a date"


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


class Month(str):
    """A calendar month such as the audit month 2026-12: a "YYYY-MM" string that is always a real month.

    Being a string, it is stored, compared, ordered, formatted and written to JSON as the text people
    read; being its own type, it can only be made valid, and it does the month's arithmetic.
    """

    __slots__ = ()

    def __new__(cls, year: "int | str", month: int | None = None) -> "Month":
        if month is None:
            # Made from its text: a copy, a pickle or a deep copy rebuilds a Month from its string.
            return cls.parse(str(year))
        if not 1 <= month <= 12:
            raise ClockError(f"{year}-{month}: there is no month {month}")
        return super().__new__(cls, f"{int(year):04d}-{month:02d}")

    @classmethod
    def parse(cls, value: str) -> "Month":
        """Parse YYYY-MM."""
        text = value.strip() if isinstance(value, str) else ""
        year_s, _, month_s = text.partition("-")
        if not (len(year_s) == 4 and len(month_s) == 2 and year_s.isdigit() and month_s.isdigit()
                and 1 <= int(month_s) <= 12 and EARLIEST_YEAR <= int(year_s) <= LATEST_YEAR):
            raise ClockError(f"{brief(str(value))} is not a month in the form YYYY-MM, such as 2026-12")
        return cls(int(year_s), int(month_s))

    @classmethod
    def of(cls, day: date) -> "Month":
        """Return the month a day falls in."""
        return cls(day.year, day.month)

    @property
    def year(self) -> int:
        """Return the year."""
        return int(self[:4])

    @property
    def month(self) -> int:
        """Return the month's number, 1 to 12."""
        return int(self[5:7])

    @property
    def first_day(self) -> date:
        """Return the first calendar day."""
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        """Return the last calendar day."""
        return date.fromordinal(self.next().first_day.toordinal() - 1)

    @property
    def label(self) -> str:
        """Return the month as people write it: 'December 2026'."""
        return f"{self.first_day:%B %Y}"

    def next(self) -> "Month":
        """Return the following month."""
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> "Month":
        """Return the preceding month."""
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def __repr__(self) -> str:
        return f"Month({str(self)!r})"


def add_months(day: date, months: int) -> date:
    """Move a date by calendar months, clamping to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = Month(year, month + 1).last_day.day
    return date(year, month + 1, min(day.day, last))
