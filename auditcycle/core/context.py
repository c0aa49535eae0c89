"""What every command and flow needs: settings, the clock and the calendar."""
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from auditcycle.core.clock import now as read_clock
from auditcycle.core.errors import UserError
from auditcycle.core.settings import Settings, get_settings
from auditcycle.core.timescales import Timescales


@dataclass(frozen=True)
class AppContext:
    """The settings, the decision clock and the calendar rules for one command or run."""

    settings: Settings
    now: datetime
    timescales: Timescales
    clock_set: bool = False  # True when `--now` set the clock, rather than the real time

    def refuse_before(self, moment: datetime, what: str) -> None:
        """Refuse a decision dated before the record it acts on (possible only when `--now` sets the clock)."""
        if self.now < moment:
            raise UserError(f"--now {self.now.astimezone(self.tz):%Y-%m-%d %H:%M} is before {what} "
                            f"({moment.astimezone(self.tz):%Y-%m-%d %H:%M}): a decision cannot be dated before "
                            "the record it acts on")

    @property
    def tz(self) -> ZoneInfo:
        """Return the configured time zone."""
        return self.timescales.tz


def build_context(now: str | None = None, settings: Settings | None = None) -> AppContext:
    """Build the context, reading `--now` as local time when it has no zone."""
    settings = settings or get_settings()
    tz = ZoneInfo(settings.timezone)
    return AppContext(settings=settings, now=read_clock(now, tz), timescales=Timescales(settings.framework, tz),
                      clock_set=now is not None)


def context_at(now: datetime, settings: Settings | None = None) -> AppContext:
    """Build the context at a moment already read (a caller's `now`), with the configured settings."""
    settings = settings or get_settings()
    tz = ZoneInfo(settings.timezone)
    return AppContext(settings=settings, now=now.astimezone(tz), timescales=Timescales(settings.framework, tz),
                      clock_set=True)
