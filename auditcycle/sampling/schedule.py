"""When a month's audit list is drawn: the sampling day, in the last full week of the month before.

Kept apart from the draw itself, so the phases' schedule (auditcycle/runs/schedule.py) and every command that
reads it can know the day without loading the domain.
"""
from datetime import date, timedelta

from auditcycle.core.clock import Month
from auditcycle.core.timescales import Timescales


def last_full_week_monday(month: Month) -> date:
    """Return the Monday of the month's last Monday-to-Sunday week that lies wholly inside the month."""
    last_sunday = month.last_day - timedelta(days=(month.last_day.weekday() - 6) % 7)
    return last_sunday - timedelta(days=6)


def sampling_day(timescales: Timescales, month: Month) -> date:
    """Return the day next month's sample is drawn: the first working day from the last full week's Monday."""
    return timescales.working_day_on_or_after(last_full_week_monday(month))


def draw_day(timescales: Timescales, audit_month: Month) -> date:
    """Return the day an audit month's list is drawn: the sampling day of the month before it."""
    return sampling_day(timescales, audit_month.previous())
