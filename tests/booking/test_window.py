"""When a meeting may start: its minimum notice after the invite is sent, and its kind's window."""
from datetime import date, datetime

from factories import context_at as ctx_at

from auditcycle.booking.window import earliest_start, panel_earliest_start
from auditcycle.core.clock import localize
from auditcycle.core.settings import Settings
from auditcycle.models import AuditCycle
from auditcycle.models.enums import CycleKind, MeetingKind

SETTINGS = Settings(database_url="sqlite://")
DECEMBER = AuditCycle(reference="2026-12", kind=CycleKind.MONTHLY, month="2026-12", due_date=date(2026, 12, 31))
DEEP_DIVE = AuditCycle(reference="DD-2026-12-01", kind=CycleKind.DEEP_DIVE, month="2026-12",
                       due_date=date(2026, 12, 4))


def local(*parts: int) -> datetime:
    return localize(datetime(*parts), ctx_at("2026-11-23T09:00", SETTINGS).tz)


def test_monthly_meetings_wait_three_working_days_and_the_month_to_open() -> None:
    early = ctx_at("2026-11-20T09:00", SETTINGS)
    late = ctx_at("2026-12-02T11:00", SETTINGS)

    assert earliest_start(early, DECEMBER, MeetingKind.FAMILY_CALL) == local(2026, 12, 1, 9)
    assert earliest_start(late, DECEMBER, MeetingKind.FAMILY_CALL) == local(2026, 12, 7, 11)


def test_a_monthly_learning_conversation_waits_for_the_fifth_working_day() -> None:
    ctx = ctx_at("2026-11-25T09:00", SETTINGS)

    # 1 December 2026 is a Tuesday: the 5th working day is Monday 7 December.
    assert earliest_start(ctx, DECEMBER, MeetingKind.LEARNING_CONVERSATION) == local(2026, 12, 7, 9)
    assert earliest_start(ctx, DECEMBER, MeetingKind.IRO_CONVERSATION) == local(2026, 12, 1, 9)


def test_a_deep_dive_gives_one_working_day_its_learning_conversation_included() -> None:
    ctx = ctx_at("2026-11-24T13:58", SETTINGS)

    assert earliest_start(ctx, DEEP_DIVE, MeetingKind.LEARNING_CONVERSATION) == local(2026, 11, 25, 13, 58)
    assert earliest_start(ctx, DEEP_DIVE, MeetingKind.FAMILY_CALL) == local(2026, 11, 25, 13, 58)


def test_the_team_manager_conversation_keeps_its_own_notice() -> None:
    ctx = ctx_at("2026-12-14T10:00", SETTINGS)

    assert earliest_start(ctx, DECEMBER, MeetingKind.MANAGER_CONVERSATION) == local(2026, 12, 15, 10)


def test_the_panel_meets_two_working_days_after_its_invite_and_after_the_due_date() -> None:
    # Due Thursday 31 December; 1 January is a bank holiday, so the invite of 4 January at 09:00 gives
    # notice to 6 January at 09:00; one sent before the due date waits for the working day after it.
    assert panel_earliest_start(ctx_at("2027-01-04T09:00", SETTINGS), DECEMBER) == local(2027, 1, 6, 9)
    assert panel_earliest_start(ctx_at("2026-12-10T09:00", SETTINGS), DECEMBER) == local(2027, 1, 4, 9)


def test_every_notice_is_a_setting() -> None:
    settings = Settings(database_url="sqlite://", framework={
        "monthly_meeting_notice_working_days": 0, "adhoc_meeting_notice_working_days": 2,
        "learning_conversation_from_working_day": 1, "moderation_panel_notice_working_days": 0})
    ctx = ctx_at("2026-12-02T11:00", settings)

    assert earliest_start(ctx, DECEMBER, MeetingKind.LEARNING_CONVERSATION) == local(2026, 12, 2, 11)
    assert earliest_start(ctx, DEEP_DIVE, MeetingKind.FAMILY_CALL) == local(2026, 12, 4, 11)
    assert panel_earliest_start(ctx_at("2027-01-05T10:00", settings), DECEMBER) == local(2027, 1, 5, 10)
