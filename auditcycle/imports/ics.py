"""Busy periods from a calendar file (.ics): each event's busy time, in the council's zone."""
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy.orm import Session

from auditcycle.core.clock import EARLIEST_YEAR, LATEST_YEAR, ClockError, in_supported_years, localize
from auditcycle.core.errors import brief
from auditcycle.imports.files import read_text, tick
from auditcycle.imports.rows import CaseloadImportError, ImportIssue, Progress
from auditcycle.models import Staff


def ics_periods(
    *, path: Path, tz: ZoneInfo, staff_id: str | None, session: Session, progress: Progress | None
) -> list[tuple[str, datetime, datetime]]:
    name = path.name
    if staff_id is None:
        raise CaseloadImportError([ImportIssue(name, None, None, "--staff is required for an .ics file: whose calendar is it?")])
    if session.get(Staff, staff_id) is None:
        raise CaseloadImportError([ImportIssue(name, None, None, f"--staff {staff_id!r}: no staff member with that id")])
    text = read_text(path, save_hint="export the calendar again as UTF-8", row_label="line")
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:
        raise CaseloadImportError([ImportIssue(name, None, None, f"not an iCalendar file ({exc})")]) from None
    # icalendar keeps no line numbers; the n-th VEVENT is the n-th BEGIN:VEVENT line.
    starts = [n for n, line in enumerate(text.split("\n"), start=1) if line.strip().upper() == "BEGIN:VEVENT"]
    issues: list[ImportIssue] = []
    periods = []
    for index, event in enumerate(calendar.walk("VEVENT")):
        line = starts[index] if index < len(starts) else None
        tick(progress, 1)

        def problem(prop: str | None, message: str, line: int | None = line) -> None:
            issues.append(ImportIssue(name, line, prop, message, row_label="line", column_label="property"))

        if str(event.get("TRANSP", "")).upper() == "TRANSPARENT" or str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if "RRULE" in event or "RDATE" in event:
            problem("RRULE", "repeating events are not supported; export the calendar with each occurrence listed")
            continue
        try:
            period = _event_period(event, tz)
        except _EventError as exc:
            problem(exc.prop, str(exc))
            continue
        if period is not None:
            periods.append((staff_id, *period))
    if issues:
        raise CaseloadImportError(issues)
    return periods


class _EventError(ValueError):
    def __init__(self, prop: str, message: str):
        super().__init__(message)
        self.prop = prop


def _event_period(event: icalendar.Event, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """Return an event's busy time in UTC, or None for an event of no length."""
    if "DTSTART" not in event:
        raise _EventError("DTSTART", "missing")
    start = _event_value(event, "DTSTART")
    if "DTEND" in event:
        end = _event_value(event, "DTEND")
    elif "DURATION" in event:
        try:
            end = start + event.decoded("DURATION")
        except (TypeError, ValueError, OverflowError):
            raise _EventError("DURATION", "not a duration such as PT1H") from None
        if not in_supported_years(end):
            raise _EventError("DURATION", f"ends outside the years {EARLIEST_YEAR} to {LATEST_YEAR}")
    else:
        # RFC 5545: an all-day event without an end lasts one day; a timed one has no length.
        end = start + timedelta(days=1) if not isinstance(start, datetime) else start
    all_day = not isinstance(start, datetime)
    if all_day != (not isinstance(end, datetime)):
        raise _EventError("DTEND", "mixes an all-day date with a date-time")
    if all_day:
        # An all-day event blocks whole local days, whatever zone the calendar was in.
        start, end = (_local(datetime.combine(d, time()), tz, "DTSTART") for d in (start, end))
    else:
        start, end = _local(start, tz, "DTSTART"), _local(end, tz, "DTEND")
    if end < start:
        raise _EventError("DTEND", "is before DTSTART")
    if end == start:
        return None
    return start, end


def _event_value(event: icalendar.Event, prop: str) -> date | datetime:
    try:
        value = event.decoded(prop)
    except (TypeError, ValueError, KeyError):
        raise _EventError(prop, "not a date or date-time") from None
    if not isinstance(value, date):
        # icalendar hands back the raw text of a value it cannot read, such as month 13.
        raise _EventError(prop, "not a date or date-time")
    tzid = event[prop].params.get("TZID")
    if isinstance(value, datetime) and value.tzinfo is None and tzid:
        raise _EventError(prop, f"unknown time zone {brief(str(tzid))}")
    if not in_supported_years(value):
        raise _EventError(prop, f"is outside the years {EARLIEST_YEAR} to {LATEST_YEAR}")
    return value


def _local(value: datetime, tz: ZoneInfo, prop: str) -> datetime:
    try:
        # A floating time (no zone) is the council's local time.
        return localize(value, tz).astimezone(UTC)
    except ClockError as exc:
        raise _EventError(prop, str(exc)) from None
