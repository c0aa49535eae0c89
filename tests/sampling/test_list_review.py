"""The QA team reviews a drawn monthly list before anyone is told: one message at the draw, notices held until
the list is approved or its review window closes, replacements made meanwhile sent with the first notices."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import QA_MANAGER
from mail_links import labelled_link, link_row
from sqlalchemy import func, select
from typer.testing import CliRunner

from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.core.settings import FrameworkSettings, Settings
from auditcycle.core.timescales import Timescales
from auditcycle.models import Audit, Child, OutboxMessage, Staff
from auditcycle.models.enums import AuditStatus, Role
from auditcycle.notices.queue import queue_notices
from auditcycle.notices.review import approve_list
from auditcycle.notifications.gateway import deliver
from auditcycle.runs.phases import skip_reason
from auditcycle.sampling.cycle import draw, monthly_cycle, replace

LONDON = ZoneInfo("Europe/London")
DEC = Month(2026, 12)


def _at(now: str, settings: Settings | None = None):
    return build_context(now, settings=settings)


@pytest.fixture
def cycle(s, settings):
    """December drawn at 07:00 on its sampling day, Monday 23 November 2026."""
    draw(s, _at("2026-11-23T07:00", settings), month=DEC, size=4, seed=5)
    s.commit()
    cycle = monthly_cycle(s, DEC)
    s.commit()  # reading opened a transaction, which on SQLite holds the write lock other connections need
    return cycle


def _text(mail) -> str:
    return " ".join(mail.message.get_body(("plain",)).get_content().split())


def _notices(s) -> int:
    return s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.phase == "notify"))


def test_the_drawn_list_goes_to_each_qa_manager_as_one_message_and_to_nobody_else(
        s, authority, settings, cycle, smtp_server) -> None:
    deliver(engine=authority, settings=settings)

    managers = s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER, Staff.active)).all()
    audits = s.scalars(select(Audit).order_by(Audit.id)).all()
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == sorted(m.email for m in managers)
    for mail in smtp_server.received:
        text = _text(mail)
        assert mail.message["Subject"] == "December 2026 audit list to review: 4 audits, notices held until approved"
        for audit in audits:
            assert f"{audit.reference}, case {audit.child_id}," in text
            assert f"auditor {audit.auditor.name} ({audit.auditor_id})" in text
            child = s.get(Child, audit.child_id)
            assert child.first_name not in text and child.last_name not in text
        assert "Notices go: when you approve the list, or otherwise at 12:00 on Tuesday 24 November 2026" in text
        link = link_row(s, _at("2026-11-23T08:00", settings), labelled_link(mail.message, "Review and approve the list"))
        assert (link.purpose, link.subject_ref, link.staff.email) == ("approve-list", cycle.reference, mail.rcpt_tos[0])
        assert "auditcycle " not in text.replace("sent by auditcycle", "")
    assert cycle.list_review_closes_at == datetime(2026, 11, 24, 12, 0, tzinfo=LONDON)


def test_notices_wait_while_the_list_is_under_review(s, settings, cycle) -> None:
    with pytest.raises(UserError, match=r"notices held: the December 2026 list is with the QA team for review: .*"
                                        r"`auditcycle approve-list 2026-12 --by STAFF_ID`.* at 12:00 on Tuesday "
                                        r"24 November 2026"):
        queue_notices(s, _at("2026-11-24T11:59", settings), cycle=cycle)

    assert _notices(s) == 0
    assert set(s.scalars(select(Audit.status))) == {AuditStatus.ALLOCATED}


def test_only_a_qa_manager_approves_and_an_approval_is_recorded_once(s, settings, cycle) -> None:
    officer = s.scalars(select(Staff).where(Staff.role == Role.PRACTICE_IMPROVEMENT_MANAGER)).first()
    with pytest.raises(PermissionDenied, match="may not approve-list: only a QA manager may"):
        approve_list(s, _at("2026-11-23T10:00", settings), cycle=cycle, by=officer.id)
    assert cycle.list_approved_at is None

    assert approve_list(s, _at("2026-11-23T10:00", settings), cycle=cycle, by=QA_MANAGER) is True
    assert approve_list(s, _at("2026-11-23T10:05", settings), cycle=cycle, by=QA_MANAGER) is False
    s.commit()

    assert (cycle.list_approved_by_id, cycle.list_approved_at) == (
        QA_MANAGER, datetime(2026, 11, 23, 10, 0, tzinfo=LONDON))
    assert queue_notices(s, _at("2026-11-23T10:30", settings), cycle=cycle) > 0
    assert set(s.scalars(select(Audit.status))) == {AuditStatus.NOTIFIED}


def test_an_unapproved_list_is_released_when_its_window_closes(s, settings, cycle) -> None:
    with pytest.raises(UserError, match="notices held"):
        queue_notices(s, _at("2026-11-24T11:59", settings), cycle=cycle)

    assert queue_notices(s, _at("2026-11-24T12:00", settings), cycle=cycle) > 0
    with pytest.raises(UserError, match=r"no longer needs approving: its review window closed at 12:00 on Tuesday "
                                        r"24 November 2026"):
        approve_list(s, _at("2026-11-24T12:30", settings), cycle=cycle, by=QA_MANAGER)


def test_a_replacement_made_in_the_window_goes_with_the_first_notices_not_as_a_correction(
        s, authority, settings, cycle, smtp_server) -> None:
    deliver(engine=authority, settings=settings)
    smtp_server.received.clear()
    old = s.scalars(select(Audit).order_by(Audit.id)).first()
    old_ref = old.reference
    new = replace(s, _at("2026-11-23T09:30", settings), reference=old.reference, by=QA_MANAGER,
                  reason="The child's family is in proceedings this month.")
    approve_list(s, _at("2026-11-23T10:00", settings), cycle=cycle, by=QA_MANAGER)
    queue_notices(s, _at("2026-11-23T10:30", settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)

    texts = [_text(mail) for mail in smtp_server.received]
    assert texts and not any(old_ref in t for t in texts)
    assert any(new.reference in t for t in texts)
    assert not any("withdrawn" in mail.message["Subject"].lower() for mail in smtp_server.received)
    assert s.get(Audit, old.id).status == AuditStatus.REPLACED


def test_scheduled_notices_and_booking_wait_for_the_review(s, settings, app_env) -> None:
    assert skip_reason("notify", _at("2026-11-23T07:30")) == "the 2026-12 sample has not been drawn"
    draw(s, _at("2026-11-23T07:00", settings), month=DEC, size=3, seed=5)
    s.commit()
    cycle = monthly_cycle(s, DEC)
    s.commit()

    held = skip_reason("notify", _at("2026-11-23T08:30"))
    assert held.startswith("the December 2026 list is with the QA team for review")
    assert skip_reason("book", _at("2026-11-23T08:45")) == held
    approve_list(s, _at("2026-11-23T09:10", settings), cycle=cycle, by=QA_MANAGER)
    s.commit()
    assert skip_reason("notify", _at("2026-11-23T09:30")) is None
    assert skip_reason("book", _at("2026-11-23T09:45")) == "no audit of 2026-12 is waiting to be booked"
    queue_notices(s, _at("2026-11-23T09:30", settings), cycle=cycle)
    s.commit()
    assert skip_reason("notify", _at("2026-11-23T10:30")) == "no audit of 2026-12 is waiting to be announced"
    assert skip_reason("book", _at("2026-11-23T09:45")) is None


def test_approve_list_on_the_command_line_says_what_it_did(s, settings, app_env, cycle) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["approve-list", "2026-12", "--by", QA_MANAGER, "--now", "2026-11-23T11:00"])
    again = runner.invoke(app, ["approve-list", "2026-12", "--by", QA_MANAGER, "--now", "2026-11-23T11:10"])
    undrawn = runner.invoke(app, ["approve-list", "2027-01", "--by", QA_MANAGER, "--now", "2026-11-23T11:10"])

    assert first.exit_code == 0, first.output
    assert " ".join(first.output.split()) == (
        "Approved the December 2026 list at 11:00 on Monday 23 November 2026: its notices go with the next notify "
        f"run (or now with `auditcycle run notify --month 2026-12 --by {QA_MANAGER}`).")
    assert again.exit_code == 0 and "already approved by S0009 at 11:00 on Monday 23 November 2026; nothing" \
        in " ".join(again.output.split())
    assert undrawn.exit_code == 1 and "no sample has been drawn for 2027-01" in undrawn.output


@pytest.mark.parametrize(("drawn", "closes", "working_days"), [
    ("2026-11-23T07:00", datetime(2026, 11, 24, 12, 0), 1),  # Monday: Tuesday noon
    ("2026-12-18T07:00", datetime(2026, 12, 21, 12, 0), 1),  # Friday: over the weekend to Monday
    ("2026-12-24T07:00", datetime(2026, 12, 29, 12, 0), 1),  # Christmas Eve: past Christmas and Boxing Day (28th)
    ("2026-11-23T07:00", datetime(2026, 11, 23, 12, 0), 0),  # no working day's wait: noon the same day
])
def test_the_review_window_closes_at_noon_working_days_after_the_draw(drawn, closes, working_days) -> None:
    timescales = Timescales(FrameworkSettings(list_review_working_days=working_days), LONDON)

    assert timescales.list_review_closes(datetime.fromisoformat(drawn).replace(tzinfo=LONDON)) == \
        closes.replace(tzinfo=LONDON)
