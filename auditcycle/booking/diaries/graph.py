"""Microsoft 365 diaries: `POST /users/{mailbox}/calendar/getSchedule` on Microsoft Graph, with an MSAL app token.

One call reads up to 20 people over a window shorter than 42 days, so a month for a council's staff is a few
calls. Times are asked for in UTC (`Prefer: outlook.timezone="UTC"`); working hours come in the mailbox's
Windows time-zone name, mapped to its IANA name (CLDR's windowsZones, as icalendar ships it).
"""
import re
import time as clock
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msal
import requests
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from auditcycle.booking.diaries.base import (
    Availability,
    Retry,
    Unreadable,
    WorkingHours,
    by_address,
    retry_after,
    with_retries,
)
from auditcycle.booking.slots import Interval
from auditcycle.core.settings import DiarySettings

SCOPE = "https://graph.microsoft.com/.default"
# getSchedule's documented limits: 20 schedules a call and a window under 42 days (here 6 weeks less a day).
GROUP = 20
SPAN = timedelta(days=41)
# scheduleItem statuses and availabilityView codes that keep a person from a meeting; "workingElsewhere" (4)
# and "free" (0) do not: a call can be made from anywhere.
BUSY_STATUSES = frozenset({"tentative", "busy", "oof"})
BUSY_CODES = frozenset("123")
VIEW_MINUTES = 30
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class GraphDiary:
    """Free/busy and working hours from Microsoft Graph's getSchedule."""

    name = "graph"

    def __init__(self, settings: DiarySettings, *, sleep: Callable[[float], None] = clock.sleep,
                 fallback_zone: ZoneInfo | None = None) -> None:
        assert settings.graph_tenant_id and settings.graph_client_id and settings.graph_client_secret
        self.settings = settings
        self.sleep = sleep
        self.requests = 0  # every request this source has made, for the benchmark and the tests
        self.fallback_zone = fallback_zone or ZoneInfo("Europe/London")
        self.http = _Session(str(settings.ca_file) if settings.ca_file else True)
        self.app = msal.ConfidentialClientApplication(
            settings.graph_client_id, client_credential=settings.graph_client_secret.get_secret_value(),
            authority=f"{settings.graph_authority}/{settings.graph_tenant_id}", http_client=self.http,
            # A council's own tenant: no need to ask Microsoft which clouds exist.
            instance_discovery=False, timeout=settings.timeout_seconds)
        self.url = f"{settings.graph_url}/users/{quote(str(settings.graph_mailbox))}/calendar/getSchedule"

    def read(self, people: Mapping[str, str], start: datetime, end: datetime) -> Availability:
        """Read people's free/busy and working hours, 20 a call, in windows shorter than 42 days."""
        found = Availability()
        grouped = by_address(people)
        addresses = sorted(grouped)
        for group in (addresses[i:i + GROUP] for i in range(0, len(addresses), GROUP)):
            for span_start, span_end in _spans(start, end):
                try:
                    answer = with_retries(lambda g=group, a=span_start, b=span_end: self._call(found, g, a, b),
                                          retries=self.settings.retries, max_wait=self.settings.max_wait_seconds,
                                          sleep=self.sleep)
                    self._take(found, grouped, group, answer, span_start)
                except Unreadable as failed:
                    for address in group:
                        for staff_id in grouped[address]:
                            found.unread.setdefault(staff_id, f"Microsoft 365: {failed}")
        return found

    def teams_link(self, *, subject: str, start: datetime, end: datetime) -> str | None:
        """Make a Teams meeting (`POST /users/{organiser}/onlineMeetings`) and return its join link, or None."""
        organiser = self.settings.graph_teams_organiser_id
        if organiser is None:
            return None
        url = f"{self.settings.graph_url}/users/{quote(organiser)}/onlineMeetings"
        body = {"subject": subject, "startDateTime": _iso(start), "endDateTime": _iso(end)}

        def attempt() -> str:
            response = self._post(url, body)
            if response.status_code in (429, 503, 504):
                raise Retry(f"Microsoft Graph was busy (HTTP {response.status_code})",
                            retry_after(response.headers.get("Retry-After"), 1.0))
            try:
                link = response.json()["joinWebUrl"] if response.status_code == 201 else None
            except (ValueError, KeyError, TypeError):
                link = None
            if not isinstance(link, str) or not link.startswith("https://") or any(c in link for c in "\r\n"):
                raise Unreadable(f"no Teams link came back (HTTP {response.status_code})")
            return link

        try:
            return str(with_retries(attempt, retries=self.settings.retries, max_wait=self.settings.max_wait_seconds,
                                    sleep=self.sleep))
        except Unreadable:
            return None

    def _post(self, url: str, body: dict) -> requests.Response:
        """POST to Graph with the app token, asking once more with a fresh token if it is refused."""
        response = None
        for fresh in (False, True):
            self.requests += 1
            try:
                response = self.http.post(url, json=body, timeout=self.settings.timeout_seconds, headers={
                    "Authorization": f"Bearer {self._token(fresh=fresh)}", "Prefer": 'outlook.timezone="UTC"'})
            except requests.Timeout:
                raise Retry("Microsoft Graph did not answer in time", 1.0) from None
            except requests.ConnectionError:
                raise Retry("Microsoft Graph could not be reached", 1.0) from None
            if response.status_code != 401:
                break
        assert response is not None
        return response

    def _token(self, *, fresh: bool = False) -> str:
        if fresh:
            # The token was refused before its time (revoked, or a clock out of step): ask for a new one.
            self.app.remove_tokens_for_client()
        try:
            result = self.app.acquire_token_for_client(scopes=[SCOPE])
        except (requests.RequestException, ValueError) as exc:
            raise Retry(f"the sign-in service could not be reached ({type(exc).__name__})", 1.0) from None
        if "access_token" not in result:
            raise Unreadable(f"the sign-in service refused the app ({result.get('error', 'no token')})")
        return result["access_token"]

    def _call(self, found: Availability, group: Sequence[str], start: datetime, end: datetime) -> list:
        body = {"schedules": list(group), "startTime": _graph_time(start), "endTime": _graph_time(end),
                "availabilityViewInterval": VIEW_MINUTES}
        before = self.requests
        response = self._post(self.url, body)
        found.requests += self.requests - before
        if response.status_code in (429, 503, 504):
            raise Retry(f"Microsoft Graph was busy (HTTP {response.status_code})",
                        retry_after(response.headers.get("Retry-After"), 1.0))
        if response.status_code == 401:
            raise Unreadable("Microsoft Graph refused the app's token twice (HTTP 401)")
        if response.status_code == 403:
            raise Unreadable("Microsoft Graph refused: the app lacks the Calendars.Read permission (HTTP 403)")
        if response.status_code != 200:
            raise Unreadable(f"Microsoft Graph answered HTTP {response.status_code}")
        try:
            value = response.json()["value"]
        except (ValueError, KeyError, TypeError):
            raise Unreadable("Microsoft Graph's answer was not a schedule (not the JSON getSchedule returns)") from None
        if not isinstance(value, list):
            raise Unreadable("Microsoft Graph's answer was not a schedule (no list of schedules)")
        return value

    def _take(self, found: Availability, grouped: Mapping[str, list[str]], group: Sequence[str],
              value: list, start: datetime) -> None:
        answered = set()
        for entry in value:
            try:
                address = str(entry["scheduleId"]).lower()
                if address not in grouped or address not in group:
                    continue
                answered.add(address)
                if entry.get("error"):
                    code = str(entry["error"].get("responseCode") or "")
                    # Only Graph's code goes into the QA manager's mail: its message is free text from outside.
                    why = code if re.fullmatch(r"[A-Za-z]{1,60}", code) else "an error"
                    for staff_id in grouped[address]:
                        found.unread.setdefault(staff_id, f"Microsoft 365 said {why} for their calendar")
                    continue
                # The items give exact times; the view, in 30-minute slots, only where a mailbox shares no items.
                busy = _items(entry["scheduleItems"]) if entry.get("scheduleItems") is not None \
                    else _view(entry.get("availabilityView") or "", start)
                hours = _hours(entry.get("workingHours"), self.fallback_zone)
            except (KeyError, TypeError, ValueError, AttributeError):
                for staff_id in grouped.get(str(entry.get("scheduleId", "")).lower() if isinstance(entry, dict)
                                               else "", []):
                    found.unread.setdefault(staff_id, "Microsoft 365 sent a schedule that could not be read")
                continue
            for staff_id in grouped[address]:
                found.busy.setdefault(staff_id, []).extend(busy)
                if hours is not None:
                    found.hours[staff_id] = hours
        for address in set(group) - answered:
            for staff_id in grouped[address]:
                found.unread.setdefault(staff_id, "Microsoft 365 sent no schedule for them")


class _Session(requests.Session):
    """A session that trusts the configured certificates: requests lets REQUESTS_CA_BUNDLE override a session's
    own `verify`, so it is passed with every request instead (MSAL's too)."""

    def __init__(self, verify: bool | str) -> None:
        super().__init__()
        self.trusted = verify

    def request(self, *args, **kwargs):  # type: ignore[override]
        """Send a request, verifying the server against the configured certificates."""
        if kwargs.get("verify") is None:
            kwargs["verify"] = self.trusted
        return super().request(*args, **kwargs)


def _spans(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    while start < end:
        yield start, min(end, start + SPAN)
        start += SPAN


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _graph_time(moment: datetime) -> dict:
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _utc(value: Mapping) -> datetime:
    # Graph writes seven decimal places ("2026-10-25T09:00:00.0000000"), more than fromisoformat reads.
    text = str(value["dateTime"])
    head, _, fraction = text.partition(".")
    moment = datetime.fromisoformat(head)
    if str(value.get("timeZone", "UTC")) != "UTC":
        raise ValueError("a time not in UTC, though UTC was asked for")
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) + timedelta(
        microseconds=int((fraction + "000000")[:6]) if fraction.isdigit() else 0)


def _items(items: list) -> list[Interval]:
    return [Interval(_utc(i["start"]), _utc(i["end"])) for i in items if i.get("status") in BUSY_STATUSES]


def _view(view: str, start: datetime) -> list[Interval]:
    step = timedelta(minutes=VIEW_MINUTES)
    if set(view) - set("01234"):
        raise ValueError("an availability view with codes other than 0 to 4")
    return [Interval(start + n * step, start + (n + 1) * step) for n, code in enumerate(view) if code in BUSY_CODES]


def _hours(hours: Mapping | None, fallback: ZoneInfo) -> WorkingHours | None:
    if not hours or not hours.get("daysOfWeek"):
        return None
    name = str((hours.get("timeZone") or {}).get("name") or "")
    try:
        tz = ZoneInfo(WINDOWS_TO_OLSON.get(name, name)) if name else fallback
    except (ZoneInfoNotFoundError, ValueError):
        # A "Customized Time Zone" has no name to look up: the council's own zone is the best guess.
        tz = fallback
    return WorkingHours(weekdays=frozenset(_DAYS.index(d.lower()) for d in hours["daysOfWeek"]),
                        start=_clock(hours["startTime"]), end=_clock(hours["endTime"]), tz=tz)


def _clock(text: str) -> time:
    return time.fromisoformat(str(text).partition(".")[0])
