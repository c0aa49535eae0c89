"""When a meeting may start: no sooner than its minimum notice after the invite is sent, and inside its window.

One home for the rule. The invite (or the update, for a move) is sent at the decision clock's `now`, so
every earliest start here counts from `ctx.now`, whenever the booking runs. Notice is counted in working
days from the next moment within working hours: a deep dive drawn and booked at 13:58 on a Tuesday may
meet from 14:00 on the Wednesday.

- A monthly audit's meetings: `monthly_meeting_notice_working_days` (3), and not before the audit month's
  first working day; its learning conversation not before the month's
  `learning_conversation_from_working_day` (the 5th), so the auditor has read the record first.
- A deep dive's or dip sample's meetings: `adhoc_meeting_notice_working_days` (1). Its learning conversation
  has no later start of its own: an ad-hoc cycle is called at short notice and may be due within days,
  so the reading time is the notice itself.
- The team manager conversation: its own `manager_conversation_notice_working_days` (1), whatever the
  cycle's kind, because it arises from a grade or a dispute late in the cycle, when the month's window has
  long opened and the moderation window is short.
- The moderation panel: `moderation_panel_notice_working_days` (2), and not before the working day after
  the cycle's due date.
- A Make a Difference interview, which belongs to no cycle: `adhoc_meeting_notice_working_days` (1).
"""
from datetime import datetime

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.models import AuditCycle
from auditcycle.models.enums import CycleKind, MeetingKind


def notice_working_days(ctx: AppContext, cycle: AuditCycle, kind: MeetingKind) -> int:
    """Return the minimum notice, in working days, of a meeting of this kind in this cycle."""
    f = ctx.settings.framework
    if kind == MeetingKind.MANAGER_CONVERSATION:
        return f.manager_conversation_notice_working_days
    if cycle.kind == CycleKind.MONTHLY:
        return f.monthly_meeting_notice_working_days
    return f.adhoc_meeting_notice_working_days


def earliest_start(ctx: AppContext, cycle: AuditCycle, kind: MeetingKind) -> datetime:
    """Return the first moment a meeting of this kind may start if its invite is sent now."""
    ts = ctx.timescales
    start = ts.working_days_after(ctx.now, notice_working_days(ctx, cycle, kind))
    if cycle.kind != CycleKind.MONTHLY or kind == MeetingKind.MANAGER_CONVERSATION:
        return start
    first = ts.first_working_day(Month.parse(cycle.month))
    if kind == MeetingKind.LEARNING_CONVERSATION:
        first = ts.add_working_days(first, ctx.settings.framework.learning_conversation_from_working_day - 1)
    opens, _ = ts.working_hours(first)
    return max(start, opens)


def panel_earliest_start(ctx: AppContext, cycle: AuditCycle) -> datetime:
    """Return the first moment a cycle's moderation panel may meet if its invite is sent now."""
    ts = ctx.timescales
    opens, _ = ts.working_hours(ts.next_working_day(cycle.due_date))
    return max(opens, ts.working_days_after(ctx.now, ctx.settings.framework.moderation_panel_notice_working_days))


def interview_earliest_start(ctx: AppContext) -> datetime:
    """Return the first moment a Make a Difference interview may start if its invite is sent now."""
    return ctx.timescales.working_days_after(ctx.now, ctx.settings.framework.adhoc_meeting_notice_working_days)
