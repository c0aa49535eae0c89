"""CalDAV diaries: a free-busy query (RFC 4791 §7.10) on each person's calendar, with the caldav package.

One REPORT a person a window, since many servers (Radicale among them) have no scheduling outbox to ask for a
group at once. The query carries only the window; the calendar's address carries only the staff address.
"""
import time as clock
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import caldav
import niquests
from caldav.lib import error as dav_error
from icalendar import Calendar

from auditcycle.booking.diaries.base import Availability, Retry, Unreadable, by_address, retry_after, with_retries
from auditcycle.booking.slots import Interval
from auditcycle.core.settings import DiarySettings

# FBTYPE values (RFC 5545 §3.2.9) that keep a person from a meeting; an absent FBTYPE means BUSY.
BUSY_TYPES = frozenset({"BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE"})


class CalDavDiary:
    """Free/busy from a CalDAV server, one calendar a person."""

    name = "caldav"

    def __init__(self, settings: DiarySettings, *, sleep: Callable[[float], None] = clock.sleep) -> None:
        assert settings.caldav_url and settings.caldav_username and settings.caldav_password
        self.settings = settings
        self.sleep = sleep
        self.requests = 0  # every request this source has made, for the benchmark and the tests
        self.client = caldav.DAVClient(
            url=settings.caldav_url, username=settings.caldav_username,
            password=settings.caldav_password.get_secret_value(), timeout=settings.timeout_seconds,
            ssl_verify_cert=str(settings.ca_file) if settings.ca_file else True)

    def calendar_url(self, email: str) -> str:
        """Return the address of a person's calendar on the server."""
        path = self.settings.caldav_calendar_path.format(email=quote(email, safe="@"),
                                                         user=quote(email.partition("@")[0], safe=""))
        return f"{self.settings.caldav_url}/{path.lstrip('/')}"

    def read(self, people: Mapping[str, str], start: datetime, end: datetime) -> Availability:
        """Ask each person's calendar for its busy time in a window, once a person."""
        found = Availability()
        for address, staff_ids in sorted(by_address(people).items()):
            try:
                busy = with_retries(lambda a=address: self._query(found, a, start, end),
                                    retries=self.settings.retries, max_wait=self.settings.max_wait_seconds,
                                    sleep=self.sleep)
            except Unreadable as failed:
                for staff_id in staff_ids:
                    found.unread[staff_id] = f"CalDAV: {failed}"
                continue
            for staff_id in staff_ids:
                found.busy[staff_id] = list(busy)
        return found

    def _query(self, found: Availability, address: str, start: datetime, end: datetime) -> list[Interval]:
        found.requests += 1
        self.requests += 1
        calendar = self.client.calendar(url=self.calendar_url(address))
        try:
            answer = calendar.freebusy_request(start.astimezone(UTC), end.astimezone(UTC))
            data = answer.data
        except dav_error.RateLimitError as throttled:
            raise Retry("the calendar server was busy (HTTP 429)",
                        throttled.retry_after_seconds if throttled.retry_after_seconds is not None
                        else retry_after(throttled.retry_after, 1.0)) from None
        except dav_error.AuthorizationError:
            raise Unreadable("the calendar server refused the account (HTTP 401 or 403)") from None
        except dav_error.NotFoundError:
            raise Unreadable("the calendar server has no calendar at their address") from None
        except (niquests.Timeout, TimeoutError):
            raise Retry("the calendar server did not answer in time", 1.0) from None
        except (niquests.ConnectionError, ConnectionError):
            raise Retry("the calendar server could not be reached", 1.0) from None
        except (dav_error.DAVError, niquests.RequestException) as failed:
            raise Unreadable(f"the calendar server answered with an error ({type(failed).__name__})") from None
        except Exception as failed:  # noqa: BLE001 - a garbled answer breaks the parser in ways of its own
            raise Unreadable(f"the calendar server's answer could not be read ({type(failed).__name__})") from None
        return _busy(data)


def _busy(data: str | bytes | None) -> list[Interval]:
    try:
        calendar = Calendar.from_ical(data or "")
        periods = []
        for component in calendar.walk("VFREEBUSY"):
            for prop in _as_list(component.get("FREEBUSY")):
                if str(prop.params.get("FBTYPE", "BUSY")).upper() not in BUSY_TYPES:
                    continue
                for start, end_or_length in prop.dt if isinstance(prop.dt, list) else [prop.dt]:
                    end = start + end_or_length if isinstance(end_or_length, timedelta) else end_or_length
                    periods.append(Interval(_aware(start), _aware(end)))
        return periods
    except (ValueError, TypeError, AttributeError, KeyError):
        raise Unreadable("the calendar server's answer was not free/busy data") from None


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _aware(moment: datetime | date) -> datetime:
    if not isinstance(moment, datetime):
        raise ValueError("a free/busy period needs times, not days")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
