"""When a scheduled run of each phase has work to do: the calendar rules that cron cannot express.

The deployments in prefect.yaml fire every working-day morning; a scheduled run (one given no month)
asks this module whether today is its day and does nothing otherwise. A run given a month always runs.
"""
from datetime import date

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.core.timescales import Timescales
from auditcycle.models.enums import AuditStatus
from auditcycle.sampling.schedule import sampling_day


def is_sampling_day(ctx: AppContext) -> bool:
    """Say whether today is this month's sampling day (notices and booking follow once the list is reviewed)."""
    today = ctx.timescales.today(ctx.now)
    return today == sampling_day(ctx.timescales, Month.of(today))


def moderation_day(timescales: Timescales, month: Month) -> date:
    """Return the first working day after an audit month's due date, when its moderation selection starts."""
    # The monthly cycle's due date is the month's last working day (see cycle.draw).
    return timescales.next_working_day(timescales.last_working_day(month))


def report_day(ctx: AppContext, month: Month) -> date:
    """Return the configured working day of a month on which the previous month's report is published."""
    first = ctx.timescales.first_working_day(month)
    return ctx.timescales.add_working_days(first, ctx.settings.framework.report_working_day - 1)


def scheduled_report_due(ctx: AppContext) -> bool:
    """Say whether today is the day a scheduled run publishes last month's report."""
    today = ctx.timescales.today(ctx.now)
    return today == report_day(ctx, Month.of(today))


def on_sampling_day(phase: str, ctx: AppContext, month: Month) -> str | None:
    """Skip the draw on any day but the sampling day."""
    if is_sampling_day(ctx):
        return None
    day = sampling_day(ctx.timescales, Month.of(ctx.timescales.today(ctx.now)))
    return f"not the sampling day: this month's is {day:%a %d %b %Y}; give a month to run {phase} now"


def _once_released(phase: str, ctx: AppContext, month: Month, status: AuditStatus, what: str) -> str | None:
    # Imported here: the phase list (and so every CLI command) imports this module, and these import the domain.
    from auditcycle.notices.review import held_reason, waiting
    from auditcycle.sampling.cycle import monthly_cycle
    from auditcycle.storage.db import session_scope

    with session_scope() as session:
        cycle = monthly_cycle(session, month)
        if cycle is None:
            return f"the {month} sample has not been drawn"
        if (held := held_reason(cycle, ctx)) is not None:
            return held
        if not waiting(session, cycle, status):
            return f"no audit of {month} is waiting to be {what}"
    return None


def once_list_released(phase: str, ctx: AppContext, month: Month) -> str | None:
    """Skip the notices until next month's list is approved or its review window has closed, and once all have gone."""
    return _once_released(phase, ctx, month, AuditStatus.ALLOCATED, "announced")


def once_notified(phase: str, ctx: AppContext, month: Month) -> str | None:
    """Skip the booking until next month's notices have gone, and once every notified audit is booked."""
    return _once_released(phase, ctx, month, AuditStatus.NOTIFIED, "booked")


def from_moderation_day(phase: str, ctx: AppContext, month: Month) -> str | None:
    """Skip moderation of a month before the first working day after its due date."""
    day = moderation_day(ctx.timescales, month)
    if ctx.timescales.today(ctx.now) < day:
        return f"moderation of {month} starts on {day:%a %d %b %Y}, the first working day after its due date"
    return None


def on_report_day(phase: str, ctx: AppContext, month: Month) -> str | None:
    """Skip the report on any day but the configured working day of the month."""
    return None if scheduled_report_due(ctx) else "not the configured report day"
