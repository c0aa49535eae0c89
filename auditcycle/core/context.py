"""What every command and flow needs: settings, the clock and the calendar."""
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from auditcycle.core.clock import now as read_clock
from auditcycle.core.settings import Settings, get_settings
from auditcycle.core.timescales import Timescales


@dataclass(frozen=True)
class AppContext:
    """The settings, the decision clock and the calendar rules for one command or run."""

    settings: Settings
    now: datetime
    timescales: Timescales

    @property
    def tz(self) -> ZoneInfo:
        """Return the configured time zone."""
        return self.timescales.tz


def build_context(now: str | None = None, settings: Settings | None = None) -> AppContext:
    """Build the context, reading `--now` as local time when it has no zone."""
    settings = settings or get_settings()
    tz = ZoneInfo(settings.timezone)
    return AppContext(settings=settings, now=read_clock(now, tz), timescales=Timescales(settings.framework, tz))
