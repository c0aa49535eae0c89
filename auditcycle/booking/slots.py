"""Meeting slots: a working-hours time when everyone a meeting needs is free.

Pure functions over plain values: no database, no I/O and no wall clock. The caller
passes the busy diaries and, as `not_before`, the decision clock's `now` (and, on each
request, its own earliest start: the minimum notice, from auditcycle.booking.window).

`find_slot` returns the earliest valid start. `plan_slots` books a batch at the earliest slots or,
given a `Spread`, across the window: each request on its least-loaded eligible working day (ties to
the earlier day), at a start in that day's least-loaded hour, with no person over a daily cap.
"""
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from auditcycle.core.timescales import Timescales

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MINUTE = 60_000_000
_HOUR = 60 * _MINUTE
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


@dataclass(frozen=True)
class Interval:
    """A half-open busy period [start, end) between two aware moments, kept in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError(f"busy interval {self.start} to {self.end} needs aware times, not naive ones")
        # Held in UTC: Python compares and subtracts two times of one zone by their wall clocks, so across
        # the autumn change 01:05 BST would count as later than the 01:00 GMT that follows it.
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))
        if self.end < self.start:
            raise ValueError(f"busy interval ends ({self.end}) before it starts ({self.start})")


@dataclass(frozen=True)
class SlotRequest:
    """A meeting to place: who must attend, for how long, and between which days."""

    key: str
    people: tuple[str, ...]
    minutes: int
    earliest: date
    latest: date
    # This meeting's own first possible moment (its minimum notice), on top of the run's `not_before`.
    not_before: datetime | None = None

    def __post_init__(self) -> None:
        if not self.people:
            raise ValueError(f"slot request {self.key} names nobody to attend")
        if self.minutes < 1:
            raise ValueError(f"slot request {self.key} needs a positive length, not {self.minutes} minutes")
        if self.not_before is not None and self.not_before.tzinfo is None:
            raise ValueError(f"slot request {self.key} needs an aware not_before, not a naive one")


@dataclass(frozen=True)
class Spread:
    """Spread a batch across its window: at most `daily_cap` meetings a person a day, `existing` counted."""

    daily_cap: int
    # Meetings already booked, as (start, people): they load their day and hour and count towards the cap.
    existing: Sequence[tuple[datetime, tuple[str, ...]]] = ()

    def __post_init__(self) -> None:
        if self.daily_cap < 1:
            raise ValueError(f"daily_cap must be at least 1 meeting a person a day, not {self.daily_cap}")


@dataclass(frozen=True)
class Booked:
    """A request placed at a time, in UTC."""

    key: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Unbooked:
    """A request that could not be placed, and why in plain English."""

    key: str
    reason: str


def find_slot(
    request: SlotRequest,
    busy: Mapping[str, Sequence[Interval]],
    timescales: Timescales,
    *,
    not_before: datetime | None = None,
    step_minutes: int = 15,
    spread: Spread | None = None,
) -> datetime | None:
    """Return the earliest valid UTC start for a request, or None; given a spread, on a day under its cap."""
    planner = _Planner(busy, timescales, step_minutes, not_before)
    room = None if spread is None else _Loads(planner, spread).has_room
    start = planner.search(request, room)
    return None if start is None else _moment(start)


def plan_slots(
    requests: Sequence[SlotRequest],
    busy: Mapping[str, Sequence[Interval]],
    timescales: Timescales,
    *,
    not_before: datetime | None = None,
    step_minutes: int = 15,
    spread: Spread | None = None,
) -> tuple[list[Booked], list[Unbooked]]:
    """Book requests in order, each booking blocking its people's diaries: earliest first, or spread."""
    planner = _Planner(busy, timescales, step_minutes, not_before)
    loads = None if spread is None else _Loads(planner, spread)
    booked: list[Booked] = []
    unbooked: list[Unbooked] = []
    for request in requests:
        start = planner.search(request) if loads is None else loads.place(request)
        if start is None:
            reason = planner.reason(request) if loads is None else loads.reason(request)
            unbooked.append(Unbooked(request.key, reason))
            continue
        end = start + request.minutes * _MINUTE
        for person in dict.fromkeys(request.people):
            planner.diary(person).add(start, end)
        if loads is not None:
            loads.add(start, request.people)
        booked.append(Booked(request.key, _moment(start), _moment(end)))
    return booked, unbooked


def _micros(moment: datetime) -> int:
    # Whole microseconds since the epoch: exact, zone-free and cheap to compare and bisect.
    return (moment - _EPOCH) // _MICROSECOND


def _moment(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


class _Diary:
    """One person's busy time as disjoint periods, sorted so starts and ends both ascend."""

    __slots__ = ("starts", "ends")

    def __init__(self, intervals: Iterable[Interval]) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        spans = sorted((_micros(i.start), _micros(i.end)) for i in intervals if i.end > i.start)
        for start, end in spans:
            # Merge overlapping and touching periods so the ends ascend too and one bisect finds a clash.
            if self.ends and start <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], end)
            else:
                self.starts.append(start)
                self.ends.append(end)

    def clash_end(self, start: int, end: int) -> int | None:
        """Return when the first busy period overlapping [start, end) finishes, if any does."""
        i = bisect_right(self.ends, start)
        if i < len(self.starts) and self.starts[i] < end:
            return self.ends[i]
        return None

    def add(self, start: int, end: int) -> None:
        """Insert a booking already known to be clear of every busy period."""
        i = bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


class _Planner:
    """The diaries and working hours for one planning run, each built once and reused."""

    def __init__(
        self,
        busy: Mapping[str, Sequence[Interval]],
        timescales: Timescales,
        step_minutes: int,
        not_before: datetime | None,
    ) -> None:
        if step_minutes < 1:
            raise ValueError(f"step_minutes must be positive, not {step_minutes}")
        if not_before is not None and not_before.tzinfo is None:
            raise ValueError("not_before must be an aware time, not a naive one")
        self.busy = busy
        self.timescales = timescales
        self.step = step_minutes * _MINUTE
        self.not_before = not_before
        self._diaries: dict[str, _Diary] = {}
        self._hours: dict[date, tuple[int, int] | None] = {}

    def diary(self, person: str) -> _Diary:
        """Return a person's diary, sorting their busy periods the first time they are needed."""
        diary = self._diaries.get(person)
        if diary is None:
            diary = self._diaries[person] = _Diary(self.busy.get(person, ()))
        return diary

    def hours(self, day: date) -> tuple[int, int] | None:
        """Return a working day's hours in epoch microseconds, or None on a non-working day."""
        if day not in self._hours:
            if self.timescales.is_working_day(day):
                opens, closes = self.timescales.working_hours(day)
                self._hours[day] = (_micros(opens), _micros(closes))
            else:
                self._hours[day] = None
        return self._hours[day]

    def not_before_of(self, request: SlotRequest) -> datetime | None:
        """Return the later of the run's `not_before` and the request's own, if either is set."""
        if request.not_before is None or (self.not_before is not None and self.not_before >= request.not_before):
            return self.not_before
        return request.not_before

    def first_start(self, opens: int, not_before: int | None) -> int:
        """Return a day's first aligned start that is not before `not_before`."""
        if not_before is None or not_before <= opens:
            return opens
        return self.align(opens, not_before)

    def align(self, opens: int, moment: int) -> int:
        """Round a moment up to the next step boundary counted from the day's opening time."""
        return opens + -(-(moment - opens) // self.step) * self.step

    def days(self, request: SlotRequest) -> Iterable[tuple[date, int, int]]:
        """Yield each working day of the request's window that is not already past, with its hours."""
        day = request.earliest
        not_before = self.not_before_of(request)
        if not_before is not None and self.timescales.today(not_before) > day:
            day = self.timescales.today(not_before)
        while day <= request.latest:
            hours = self.hours(day)
            if hours is not None:
                yield day, hours[0], hours[1]
            day += timedelta(days=1)

    def search(self, request: SlotRequest, room: Callable[[SlotRequest, date], bool] | None = None) -> int | None:
        """Return the earliest valid start for a request in epoch microseconds (on a day with room), or None."""
        for day, opens, closes in self.days(request):
            if room is not None and not room(request, day):
                continue
            for start in self.starts(request, opens, closes):
                return start
        return None

    def starts(self, request: SlotRequest, opens: int, closes: int) -> Iterable[int]:
        """Yield, earliest first, every valid start of a request within one working day's hours."""
        length = request.minutes * _MINUTE
        diaries = [self.diary(person) for person in dict.fromkeys(request.people)]
        not_before = self.not_before_of(request)
        start = self.first_start(opens, None if not_before is None else _micros(not_before))
        while start + length <= closes:
            for diary in diaries:
                clash = diary.clash_end(start, start + length)
                if clash is not None:
                    # Every start before the clash ends overlaps it, so jumping skips no valid start.
                    start = self.align(opens, clash)
                    break
            else:
                yield start
                start += self.step

    def reason(self, request: SlotRequest) -> str:
        """Explain in plain English why a request has no slot."""
        window = _window(request.earliest, request.latest)
        if request.earliest > request.latest:
            return (
                f"no working day in the window: the earliest day, {_day(request.earliest)}, "
                f"is after the due date, {_day(request.latest)}"
            )
        every_day = (request.earliest + timedelta(days=n) for n in range((request.latest - request.earliest).days + 1))
        working = [hours for hours in map(self.hours, every_day) if hours is not None]
        if not working:
            return f"no working day {window}: it holds only weekends and bank holidays"
        length = request.minutes * _MINUTE
        if all(closes - opens < length for opens, closes in working):
            return f"a {request.minutes}-minute meeting is longer than working hours on every working day {window}"
        not_before = self.not_before_of(request)
        micros = None if not_before is None else _micros(not_before)
        if not any(self.first_start(opens, micros) + length <= closes for _day, opens, closes in self.days(request)):
            assert not_before is not None  # only the current moment or the notice can rule out a day that fits
            return (
                f"no {request.minutes}-minute window within working hours {window} "
                f"is left after {self._local(not_before)}"
            )
        return f"no {request.minutes}-minute window {window} when {_who(request.people)} free within working hours"

    def _local(self, moment: datetime) -> str:
        local = moment.astimezone(self.timescales.tz)
        return f"{local:%H:%M} on {_day(local.date())}"


class _Loads:
    """How many meetings each working day, each hour of it and each person's day holds, for spreading."""

    def __init__(self, planner: _Planner, spread: Spread) -> None:
        self.planner = planner
        self.cap = spread.daily_cap
        self.day: Counter[date] = Counter()
        self.hour: Counter[tuple[date, int]] = Counter()
        self.person: Counter[tuple[str, date]] = Counter()
        for start, people in spread.existing:
            self.add(_micros(start), people)

    def add(self, start: int, people: Sequence[str]) -> None:
        """Count a meeting at a start towards its day, its hour and each of its people's day."""
        day = self.planner.timescales.today(_moment(start))
        hours = self.planner.hours(day)
        hour = 0 if hours is None else (start - hours[0]) // _HOUR
        self.day[day] += 1
        self.hour[day, hour] += 1
        for person in dict.fromkeys(people):
            self.person[person, day] += 1

    def has_room(self, request: SlotRequest, day: date) -> bool:
        """Say whether everyone a request needs has fewer than the cap's meetings on a day."""
        return all(self.person[person, day] < self.cap for person in request.people)

    def place(self, request: SlotRequest) -> int | None:
        """Return a start on the least-loaded eligible day, in its least-loaded hour, or None."""
        people = tuple(dict.fromkeys(request.people))
        days = []
        for day, opens, closes in self.planner.days(request):
            busiest = max(self.person[person, day] for person in people)
            if busiest < self.cap:
                # Each person's own meetings spread first, then the day's, then the earlier day wins.
                days.append((busiest, self.day[day], day, opens, closes))
        days.sort()
        for _busiest, _load, day, opens, closes in days:
            best: tuple[int, int] | None = None
            for start in self.planner.starts(request, opens, closes):
                candidate = (self.hour[day, (start - opens) // _HOUR], start)
                if best is None or candidate < best:
                    best = candidate
                if candidate[0] == 0:
                    break  # an empty hour, and every later start is later still
            if best is not None:
                return best[1]
        return None

    def reason(self, request: SlotRequest) -> str:
        """Explain in plain English why a request could not be spread: the daily cap, or no slot at all."""
        if self.planner.search(request) is None:
            return self.planner.reason(request)
        window = _window(request.earliest, request.latest)
        them = "one of them" if len(set(request.people)) > 1 else "them"
        return (f"each working day {window} when {_who(request.people)} free for {request.minutes} minutes "
                f"already holds {self.cap} audit meetings for {them} (the daily limit per person)")


def _day(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _window(first: date, last: date) -> str:
    if first == last:
        return f"on {_day(first)}"
    if (first.year, first.month) == (last.year, last.month):
        return f"between {first.day} and {_day(last)}"
    if first.year == last.year:
        return f"between {first.day} {_MONTHS[first.month - 1]} and {_day(last)}"
    return f"between {_day(first)} and {_day(last)}"


def _who(people: Sequence[str]) -> str:
    names = list(dict.fromkeys(people))
    if len(names) == 1:
        return f"{names[0]} is"
    if len(names) == 2:
        return f"both {names[0]} and {names[1]} are"
    return f"all of {', '.join(names[:-1])} and {names[-1]} are"
