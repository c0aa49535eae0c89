"""The sending mailbox's limits, against a real SMTP server on loopback, on SQLite and PostgreSQL.

The gateway runs on a clock the test sets, so a window's wait is simulated time, never slept.
"""
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.core.context import context_at
from auditcycle.core.settings import MailRateSettings, Settings
from auditcycle.models import MailSend, OutboxMessage, Staff
from auditcycle.models.enums import MessageStatus, Role
from auditcycle.notifications.gateway import deliver
from auditcycle.notifications.message import Composed
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.notifications.urgency import Urgency, urgency

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SENDER = Path(__file__).with_name("mail_rate_sender.py")


def _settings(smtp_server, **rate) -> Settings:
    return Settings(database_url="sqlite://", smtp_host="127.0.0.1", smtp_port=smtp_server.port,
                    mail_rate=MailRateSettings(**rate))


def _people(session, n: int = 3, qa_manager: bool = False) -> list[Staff]:
    staff = [Staff(id=f"S{i}", name=f"Person {i}", email=f"person{i}@council.example", role=Role.KEY_WORKER)
             for i in range(n)]
    if qa_manager:
        staff.append(Staff(id="QA1", name="Quinn Manager", email="quinn@council.example", role=Role.QA_MANAGER))
    session.add_all(staff)
    session.commit()
    return staff[:n]


def _queue(session, person: Staff, ref: str, *, phase: str = "notify", template: str = "audit_notice") -> None:
    message = Composed(template=template, subject=f"{template} {ref}", text=f"About {ref}.", html=f"<p>About {ref}.</p>")
    assert enqueue(session, context_at(T0), MessageKey(phase, "2026-12", ref, "one"), person, message) is not None
    session.commit()


def _subjects(smtp_server) -> list[str]:
    return [r.message["Subject"] for r in smtp_server.received]


def test_a_per_minute_limit_holds_across_two_sender_processes(db_url, session, engine, smtp_server,
                                                              tmp_path) -> None:
    [person] = _people(session, 1)
    for n in range(20):
        _queue(session, person, f"A-{n:02d}")
    go = tmp_path / "go"
    senders = [subprocess.Popen([sys.executable, str(SENDER), db_url, str(smtp_server.port), T0.isoformat(), "5",
                                 str(go)], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    go.touch()  # both start draining the same database at once
    sent = [int(p.communicate(timeout=120)[0].strip()) for p in senders]
    assert [p.returncode for p in senders] == [0, 0]

    # Five in the minute, between the two of them; the rest wait, no attempt spent, until the window frees.
    assert len(smtp_server.received) == sum(sent) == 5
    session.expire_all()
    waiting = list(session.scalars(select(OutboxMessage).where(OutboxMessage.status == MessageStatus.PENDING)))
    assert len(waiting) == 15
    assert {(m.attempts, m.last_error, m.next_attempt_at) for m in waiting} == {(0, None, T0 + timedelta(minutes=1))}
    session.rollback()  # on SQLite a transaction holds the write lock the next sender needs

    report = deliver(engine=engine, settings=_settings(smtp_server, per_minute=5), clock=lambda: T0 + timedelta(seconds=61))
    assert report.sent == 5 and len(smtp_server.received) == 10


def test_queued_mail_goes_when_the_clock_moves_on(session, engine, smtp_server) -> None:
    [person] = _people(session, 1)
    for n in range(7):
        _queue(session, person, f"A-{n}")
    settings = _settings(smtp_server, per_minute=3, per_hour=5)

    def at(seconds: int) -> int:
        return deliver(engine=engine, settings=settings, clock=lambda: T0 + timedelta(seconds=seconds)).sent

    first = deliver(engine=engine, settings=settings, clock=lambda: T0)
    assert (first.sent, first.held_back, first.retrying, first.failed) == (3, 4, 0, 0)
    assert at(30) == 0  # still inside the minute
    assert at(60) == 2  # the minute has freed three places, but the hour has only two left
    assert at(120) == 0
    assert at(3600) == 2  # the hour's first three sends have left it
    assert _subjects(smtp_server) == [f"audit_notice A-{n}" for n in range(7)]
    assert session.scalar(select(func.count()).select_from(MailSend)) == 7


def test_the_days_last_share_is_kept_for_immediate_responses(session, engine, smtp_server) -> None:
    [person] = _people(session, 1)
    settings = _settings(smtp_server, per_day=10, immediate_response_reserve=0.2)
    for n in range(8):
        _queue(session, person, f"N-{n}")
    assert deliver(engine=engine, settings=settings, clock=lambda: T0).sent == 8  # the day's share for all mail

    _queue(session, person, "R-1", phase="chase", template="audit_reminder")
    _queue(session, person, "IR-1", phase="responses", template="immediate_response")
    later = T0 + timedelta(hours=1)
    report = deliver(engine=engine, settings=settings, clock=lambda: later)

    assert (report.sent, report.held_back) == (1, 1)
    assert _subjects(smtp_server)[-1] == "immediate_response IR-1"
    reminder = session.scalar(select(OutboxMessage).where(OutboxMessage.subject_ref == "R-1"))
    session.refresh(reminder)
    # It goes once the day's first sends have left the rolling day.
    assert (reminder.status, reminder.attempts, reminder.next_attempt_at) == (MessageStatus.PENDING, 0, T0 + timedelta(days=1))
    session.rollback()
    assert deliver(engine=engine, settings=settings, clock=lambda: T0 + timedelta(days=1)).sent == 1


def test_held_mail_goes_most_urgent_first(session, engine, smtp_server) -> None:
    [person] = _people(session, 1)
    # Queued least urgent first, so the order sent is not the order queued.
    for ref, phase, template in [("D", "report", "report_broadcast"), ("N", "notify", "audit_notice"),
                                 ("R", "chase", "audit_reminder"), ("E", "escalate", "actions_overdue"),
                                 ("I", "responses", "immediate_response")]:
        _queue(session, person, ref, phase=phase, template=template)
    settings = _settings(smtp_server, per_minute=2)

    for minute in range(3):
        deliver(engine=engine, settings=settings, clock=lambda minute=minute: T0 + timedelta(minutes=minute))

    assert _subjects(smtp_server) == ["immediate_response I", "actions_overdue E", "audit_reminder R",
                                      "audit_notice N", "report_broadcast D"]


def test_urgency_reads_the_template_then_the_phase() -> None:
    assert urgency("responses", "immediate_response") == Urgency.IMMEDIATE_RESPONSE
    assert urgency("escalate", "actions_overdue") == Urgency.ESCALATION
    assert urgency("escalate", "action_reminders") == Urgency.REMINDER
    assert urgency("chase", "anything_new") == Urgency.REMINDER
    assert urgency("notify", "audit_notice") == Urgency.NOTICE
    assert urgency("report", "report_broadcast") == Urgency.DIGEST


def test_the_qa_manager_is_told_once_a_day_when_the_quota_falls_short(session, engine, smtp_server) -> None:
    [person] = _people(session, 1, qa_manager=True)
    for n in range(12):
        _queue(session, person, f"N-{n:02d}")
    settings = _settings(smtp_server, per_day=5, immediate_response_reserve=0.2)

    for minutes in (0, 1, 30, 120):  # repeated runs the same day
        deliver(engine=engine, settings=settings, clock=lambda minutes=minutes: T0 + timedelta(minutes=minutes))

    warnings = [r for r in smtp_server.received if r.rcpt_tos == ["quinn@council.example"]]
    assert len(warnings) == 1 and len(smtp_server.received) == 5  # four notices, then the warning in the reserve
    text = " ".join(warnings[0].message.get_body(("plain",)).get_content().split())
    assert warnings[0].message["Subject"] == "Mail waiting: 7 messages will go after today's sending limit"
    # Eight wait and one place is left, for Immediate Responses; four a day go from tomorrow 09:00 (UTC).
    assert "from Thursday 26 November 2026 at 09:00" in text and "by about Friday 27 November 2026" in text
    assert session.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.template == "mail_quota_short")) == 1


def test_without_limits_nothing_is_counted(session, engine, smtp_server) -> None:
    [person] = _people(session, 1)
    for n in range(3):
        _queue(session, person, f"A-{n}")
    assert deliver(engine=engine, settings=_settings(smtp_server), clock=lambda: T0).sent == 3
    assert session.scalar(select(func.count()).select_from(MailSend)) == 0


@pytest.mark.parametrize(("values", "message"), [
    ({"per_minute": 100, "per_hour": 50}, "per_minute (100) is more than per_hour (50)"),
    ({"per_minute": 0}, "greater than or equal to 1"),
    ({"immediate_response_reserve": 1.0}, "less than 1"),
    ({"per_mintue": 30}, "Extra inputs are not permitted"),
])
def test_bad_mail_rate_settings_are_refused_naming_the_setting(values, message) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)) as refused:
        Settings(database_url="sqlite://", mail_rate=values)
    assert "mail_rate" in str(refused.value)


def test_a_phase_drain_counts_the_limits_on_the_runs_own_clock(smtp_env, monkeypatch) -> None:
    from auditcycle.core.settings import get_settings
    from auditcycle.storage.db import get_engine
    from auditcycle.tasks.delivery import deliver_outbox

    monkeypatch.setenv("AUDITCYCLE_MAIL_RATE__PER_MINUTE", "2")
    get_settings.cache_clear()
    with get_engine().connect() as conn, Session(bind=conn) as session:
        [person] = _people(session, 1)
        for n in range(3):
            _queue(session, person, f"A-{n}")

    sent = [deliver_outbox.fn(now=now)["sent"] for now in
            ("2026-11-25T09:00", "2026-11-25T09:00:30", "2026-11-25T09:01")]

    assert sent == [2, 0, 1] and len(smtp_env.received) == 3


def test_a_runs_mail_line_counts_what_the_limits_held_back() -> None:
    from auditcycle.cli.summaries import mail_line

    assert mail_line({"sent": 30, "held_back": 70}) == \
        "100 due: sent 30, to retry 0, held 0, failed 0, waiting for the mailbox's limits 70"
    assert mail_line({"sent": 3}) == "3 due: sent 3, to retry 0, held 0, failed 0"
