"""When a scheduled run of each phase has work to do: the calendar rules that cron cannot express.

The deployments in prefect.yaml fire every working-day morning; a scheduled run (one given no month)
asks this module whether today is its day and does nothing otherwise. A run given a month always runs.
"""
from datetime import date, timedelta

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.core.timescales import Timescales
from auditcycle.runs.phases import default_month, report_day

SAMPLING_PHASES = frozenset({"sample", "notify", "book"})


def last_full_week_monday(month: Month) -> date:
    """Return the Monday of the month's last Monday-to-Sunday week that lies wholly inside the month."""
    last_sunday = month.last_day - timedelta(days=(month.last_day.weekday() - 6) % 7)
    return last_sunday - timedelta(days=6)


def sampling_day(timescales: Timescales, month: Month) -> date:
    """Return the day next month's sample is drawn: the first working day from the last full week's Monday."""
    return timescales.working_day_on_or_after(last_full_week_monday(month))


def is_sampling_day(ctx: AppContext) -> bool:
    """Say whether today is this month's sampling day (notices and booking follow later the same day)."""
    today = ctx.timescales.today(ctx.now)
    return today == sampling_day(ctx.timescales, Month.of(today))


def moderation_day(timescales: Timescales, month: Month) -> date:
    """Return the first working day after an audit month's due date, when its moderation selection starts."""
    # The monthly cycle's due date is the month's last working day (see cycle.draw).
    return timescales.next_working_day(timescales.last_working_day(month))


def skip_reason(phase: str, ctx: AppContext) -> str | None:
    """Return why a scheduled run of a phase has nothing to do today, or None when it should run."""
    today = ctx.timescales.today(ctx.now)
    if phase in SAMPLING_PHASES and not is_sampling_day(ctx):
        day = sampling_day(ctx.timescales, Month.of(today))
        return f"not the sampling day: this month's is {day:%a %d %b %Y}; give a month to run {phase} now"
    if phase == "moderate":
        month = default_month(phase, ctx)
        day = moderation_day(ctx.timescales, month)
        if today < day:
            return f"moderation of {month} starts on {day:%a %d %b %Y}, the first working day after its due date"
    if phase == "report" and today != report_day(ctx, Month.of(today)):
        return "not the configured report day"
    return None
