"""Diaries: busy periods and working hours of staff, read from the source a council's settings choose.

`open_diary` returns the source (`[diary] source` = "import", "caldav" or "graph"); every source answers the
`Diary` protocol of auditcycle.booking.diaries.base, so booking plans the same way on each.
"""
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from auditcycle.booking.diaries.base import Availability, Diary, WorkingHours
from auditcycle.core.settings import Settings

__all__ = ["Availability", "Diary", "WorkingHours", "open_diary"]


def open_diary(session: Session, settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> Diary:
    """Return the diary source the settings choose; `sleep` waits out a server's Retry-After."""
    chosen = settings.diary
    if chosen.source == "caldav":
        from auditcycle.booking.diaries.dav import CalDavDiary

        return CalDavDiary(chosen, sleep=sleep)
    if chosen.source == "graph":
        from auditcycle.booking.diaries.graph import GraphDiary

        return GraphDiary(chosen, sleep=sleep, fallback_zone=ZoneInfo(settings.timezone))
    from auditcycle.booking.diaries.imported import ImportedDiary

    return ImportedDiary(session)
