"""SMTP outages: the gateway keeps every message, backs off, and delivers each once when the server is back."""
import json
from datetime import UTC, datetime, timedelta

from smtp_server import DroppingSmtpServer, SmtpServer, free_port
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from auditcycle.core.context import build_context
from auditcycle.core.settings import Settings
from auditcycle.models import OutboxMessage, Staff
from auditcycle.models.enums import MessageStatus, Role
from auditcycle.notifications.gateway import MAX_ATTEMPTS, backoff, deliver
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.notifications.render import render

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
PEOPLE = [Recipient(f"S{i}", f"Person {i}", f"person{i}@council.example") for i in range(1, 4)]
QA = Recipient("QA1", "Quinn Manager", "quinn@council.example")


def _settings(port: int) -> Settings:
    return Settings(database_url="sqlite://", smtp_host="127.0.0.1", smtp_port=port, smtp_timeout_seconds=5)


def _queue(session: Session, people: list[Recipient] = PEOPLE) -> dict[str, str]:
    """Queue one withdrawal notice to each person; return their Message-IDs by email."""
    for person in [*people, QA]:
        role = Role.QA_MANAGER if person is QA else Role.KEY_WORKER
        session.add(Staff(id=person.staff_id, name=person.name, email=person.email, role=role))
    session.flush()
    ids = {}
    for person in people:
        message = render("audit_withdrawn", recipient_name=person.name, month_label="December 2026",
                         audit_ref="A-2026-12-001", child_id="C1", reason="Case closed")
        row = enqueue(session, build_context(NOW.isoformat()), MessageKey("withdraw", "2026-12", "A-2026-12-001", "withdrawn"), person, message)
        ids[person.email] = row.message_id
    session.commit()
    return ids


def _rows(session: Session) -> list[OutboxMessage]:
    session.expire_all()
    rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.phase != "gateway")
                                .order_by(OutboxMessage.id)))
    session.commit()  # end the read, so the gateway is not kept waiting for SQLite's lock
    return rows


def _let_time_pass(session: Session) -> None:
    """Make every waiting message due, as if its backoff had elapsed on the real clock."""
    session.execute(update(OutboxMessage).where(OutboxMessage.status == MessageStatus.PENDING)
                    .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
    session.commit()


def _waits(rows: list[OutboxMessage], before: datetime) -> set[int]:
    """Return each row's wait before its next try, in whole minutes from `before`."""
    return {round((_aware(r.next_attempt_at) - before).total_seconds() / 60) for r in rows}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_backoff_doubles_from_one_minute_up_to_an_hour() -> None:
    waits = [backoff(attempt) for attempt in range(1, 10)]

    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60, 60)]


def test_server_refusing_for_a_while_then_back_delivers_each_message_once(session, engine) -> None:
    message_ids = _queue(session)
    port = free_port()  # nothing listens here yet: every connection is refused
    waits = []

    for expected_attempts in (1, 2, 3):
        before = datetime.now(UTC)
        report = deliver(engine=engine, settings=_settings(port))
        rows = _rows(session)
        assert (report.sent, report.retrying, report.failed) == (0, 3, 0)
        assert {(r.status, r.attempts, r.last_code) for r in rows} == {(MessageStatus.PENDING, expected_attempts, None)}
        assert all("cannot reach SMTP server" in r.last_error for r in rows)
        waits.append(_waits(rows, before))
        # Straight away, nothing is due: the next drain tries nothing, so the attempts stay put.
        early = deliver(engine=engine, settings=_settings(port))
        assert (early.sent, early.retrying) == (0, 0)
        assert {r.attempts for r in _rows(session)} == {expected_attempts}
        _let_time_pass(session)

    with SmtpServer(port=port) as server:
        back = deliver(engine=engine, settings=_settings(port))
        again = deliver(engine=engine, settings=_settings(port))
        received = {r.rcpt_tos[0]: r.message["Message-ID"] for r in server.received}

    assert waits == [{1}, {2}, {4}]
    assert (back.sent, again.sent) == (3, 0)
    assert received == message_ids  # each once, with the Message-ID fixed when it was queued
    assert len(server.received) == 3
    assert {(r.status, r.attempts, r.last_code) for r in _rows(session)} == {(MessageStatus.SENT, 4, 250)}


def test_connection_dropped_mid_data_is_retried_and_delivered_once(session, engine) -> None:
    message_ids = _queue(session, PEOPLE[:2])

    with DroppingSmtpServer(drops=1) as server:
        before = datetime.now(UTC)
        first = deliver(engine=engine, settings=_settings(server.port))
        dropped, delivered = [(r.status, r.attempts, r.last_code, r.last_error, _waits([r], before))
                              for r in _rows(session)]
        _let_time_pass(session)
        second = deliver(engine=engine, settings=_settings(server.port))

    assert server.connections_dropped == 1
    assert (first.sent, first.retrying) == (1, 1)
    # The first message's connection died mid-DATA; the second went on a fresh connection.
    assert dropped[:3] == (MessageStatus.PENDING, 1, None) and dropped[4] == {1}
    assert "connection lost while sending" in dropped[3]
    assert (delivered[0], delivered[2]) == (MessageStatus.SENT, 250)
    assert second.sent == 1
    received = sorted((r.rcpt_tos[0], _message_id(r.data)) for r in server.received)
    assert received == sorted(message_ids.items())
    assert {(r.status, r.last_code) for r in _rows(session)} == {(MessageStatus.SENT, 250)}


def _message_id(data: bytes) -> str:
    from email import message_from_bytes, policy

    return message_from_bytes(data, policy=policy.default)["Message-ID"]


def test_451_then_250_backs_off_honours_the_wait_and_stores_each_reply(session, engine, smtp_server) -> None:
    message_ids = _queue(session, PEOPLE[:1])
    smtp_server.handler.replies = ["451 4.3.0 Try again later", "452 4.3.1 Out of room"]
    seen = []

    for _ in range(2):
        before = datetime.now(UTC)
        deliver(engine=engine, settings=_settings(smtp_server.port))
        [row] = _rows(session)
        seen.append((row.status, row.attempts, row.last_code, _waits([row], before)))
        # Not due yet: a drain now must not reach the server, so the next scripted reply stays unused.
        deliver(engine=engine, settings=_settings(smtp_server.port))
        seen.append(len(smtp_server.handler.replies))
        _let_time_pass(session)
    deliver(engine=engine, settings=_settings(smtp_server.port))
    [row] = _rows(session)

    assert seen == [(MessageStatus.PENDING, 1, 451, {1}), 1, (MessageStatus.PENDING, 2, 452, {2}), 0]
    assert (row.status, row.attempts, row.last_code, row.last_error) == (MessageStatus.SENT, 3, 250, None)
    assert [(r.rcpt_tos[0], r.message["Message-ID"]) for r in smtp_server.received] == list(message_ids.items())


def test_550_is_failed_listed_with_its_code_and_reported_to_the_qa_manager(session, engine, smtp_env,
                                                                            monkeypatch) -> None:
    from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
    from auditcycle.storage.db import get_engine

    _queue(session, PEOPLE[:2])
    smtp_env.handler.replies = ["550 5.1.1 No such mailbox"]

    report = deliver(engine=get_engine(), settings=_settings(smtp_env.port))
    listed = CliRunner().invoke(app, ["list", "messages", "--json"])
    table = CliRunner().invoke(app, ["list", "messages"], env={"COLUMNS": "300"})

    assert (report.sent, report.failed) == (2, 1)  # the second message, then the report of the first
    items = {i["reference"]: i for i in json.loads(listed.output)["items"]}
    assert (items["M000001"]["status"], items["M000001"]["last_code"]) == ("failed", 550)
    assert "No such mailbox" in items["M000001"]["last_error"]
    assert (items["M000002"]["status"], items["M000002"]["last_code"]) == ("sent", 250)
    failed_line = next(line for line in table.output.splitlines() if "M000001" in line)
    assert "failed" in failed_line and "550" in failed_line
    notices = [r for r in smtp_env.received if r.rcpt_tos == [QA.email]]
    assert len(notices) == 1
    body = notices[0].message.get_body(("plain",)).get_content()
    assert "M000001" in body and "person1@council.example" in body and "550" in body
    assert [r.rcpt_tos for r in smtp_env.received] == [[PEOPLE[1].email], [QA.email]]


def test_transient_failures_give_up_after_the_last_attempt_and_are_reported(session, engine, smtp_server) -> None:
    _queue(session, PEOPLE[:1])
    session.execute(update(OutboxMessage).values(attempts=MAX_ATTEMPTS - 1))
    session.commit()
    smtp_server.handler.replies = ["451 4.3.0 Try again later"]

    report = deliver(engine=engine, settings=_settings(smtp_server.port))
    [row] = _rows(session)

    assert (report.failed, report.retrying) == (1, 0)
    assert (row.status, row.attempts, row.last_code) == (MessageStatus.FAILED, MAX_ATTEMPTS, 451)
    assert [r.rcpt_tos for r in smtp_server.received] == [[QA.email]]
