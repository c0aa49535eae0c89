"""The outbox and its one gateway, against a real SMTP server on loopback."""
from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import pytest
from icalendar import Calendar
from sqlalchemy import select

from auditcycle.core.context import build_context
from auditcycle.core.errors import Conflict
from auditcycle.core.settings import Settings
from auditcycle.models import OutboxMessage, Staff
from auditcycle.models.enums import MessageStatus, Role
from auditcycle.notifications.gateway import deliver
from auditcycle.notifications.invites import Invite, MeetingFacts, compose_invite
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.notifications.render import render

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ALICE = Recipient("S1", "Alice Auditor", "alice@council.example")
KEITH = Recipient("S2", "Keith Worker", "keith@council.example")


def _settings(smtp_server, **extra) -> Settings:
    return Settings(database_url="sqlite://", smtp_host="127.0.0.1", smtp_port=smtp_server.port, **extra)


def _staff(session) -> None:
    for r in (ALICE, KEITH):
        session.add(Staff(id=r.staff_id, name=r.name, email=r.email, role=Role.KEY_WORKER))
    session.commit()


def _invite(sequence: int = 0) -> tuple[Invite, MeetingFacts]:
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    invite = Invite(uid="abc-123@example.org", sequence=sequence, summary="Audit learning conversation (A-1)",
                    description="Audit A-1, case C1.", location="Teams", start=start,
                    end=start + timedelta(hours=1), organiser_name="QA Team", organiser_email="qa-team@example.org",
                    attendees=(ALICE, KEITH))
    facts = MeetingFacts(title=invite.summary, audit_ref="A-1", child_id="C1", note=None, location="Teams",
                         minutes=60, when_label="Tuesday 1 December 2026, 09:00–10:00")
    return invite, facts


def _queue(session, recipient: Recipient, step: str = "request-0", sequence: int = 0) -> OutboxMessage | None:
    invite, facts = _invite(sequence)
    message = compose_invite(invite, facts, recipient_name=recipient.name, method="REQUEST", stamp=NOW)
    row = enqueue(session, build_context(NOW.isoformat()), MessageKey("book", "2026-12", "A-1-LC", step), recipient, message)
    session.commit()
    return row


def test_invite_arrives_as_multipart_alternative_with_calendar_part(session, engine, smtp_server) -> None:
    _staff(session)
    _queue(session, ALICE)

    report = deliver(engine=engine, settings=_settings(smtp_server))

    assert report.sent == 1
    [received] = smtp_server.received
    assert received.rcpt_tos == ["alice@council.example"]
    msg = received.message
    assert msg["To"] == "alice@council.example"
    assert msg["From"] == "QA Team <qa-team@example.org>" or "qa-team@example.org" in msg["From"]
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html", "text/calendar"]
    calendar_part = list(msg.iter_parts())[2]
    assert calendar_part.get_param("method") == "REQUEST"
    assert calendar_part.get_content_charset() == "utf-8"
    ics = calendar_part.get_content()
    assert Calendar.from_ical(ics)["METHOD"] == "REQUEST"
    assert b"\r\nBEGIN:VEVENT\r\n" in calendar_part.get_payload(decode=True)
    assert b"RDATE" not in received.data


def test_each_message_gets_its_own_message_id(session, engine, smtp_server) -> None:
    _staff(session)
    _queue(session, ALICE)
    _queue(session, KEITH)

    deliver(engine=engine, settings=_settings(smtp_server))

    ids = [r.message["Message-ID"] for r in smtp_server.received]
    assert len(ids) == 2 and len(set(ids)) == 2
    stored = set(session.scalars(select(OutboxMessage.message_id)))
    assert stored == set(ids)


def test_a_drain_of_several_batches_sends_over_one_connection(session, engine, smtp_server) -> None:
    _staff(session)
    for n in range(5):
        _queue(session, ALICE, step=f"request-{n}")

    report = deliver(engine=engine, settings=_settings(smtp_server), batch_size=2)

    assert report.sent == len(smtp_server.received) == 5
    assert len({r.peer for r in smtp_server.received}) == 1  # three batches, one SMTP connection


def test_enqueue_twice_queues_once(session, engine, smtp_server) -> None:
    _staff(session)
    first = _queue(session, ALICE)
    second = _queue(session, ALICE)

    deliver(engine=engine, settings=_settings(smtp_server))
    deliver(engine=engine, settings=_settings(smtp_server))

    assert first is not None and second is None
    assert len(smtp_server.received) == 1


def test_unique_constraint_refuses_a_duplicate_idempotency_key(session) -> None:
    _staff(session)
    row = _queue(session, ALICE)
    clone = OutboxMessage(**{c.key: getattr(row, c.key) for c in OutboxMessage.__table__.columns
                             if c.key not in {"id", "message_id"}}, message_id="<other@example.org>")
    session.add(clone)
    with pytest.raises(Conflict, match=r"^the same record \(.*idempotency_key\) was saved by another run") as refused:
        session.commit()
    session.rollback()
    assert "IntegrityError" in {cls.__name__ for cls in type(refused.value.__cause__).__mro__}  # the driver's own
    assert len(list(session.scalars(select(OutboxMessage)))) == 1


def test_transient_reply_is_retried_with_backoff_then_delivered(session, engine, smtp_server) -> None:
    _staff(session)
    _queue(session, ALICE)
    smtp_server.handler.replies = ["451 4.3.0 Try again later"]

    first = deliver(engine=engine, settings=_settings(smtp_server))
    row = session.scalar(select(OutboxMessage))
    session.refresh(row)

    assert (first.sent, first.retrying) == (0, 1)
    assert (row.status, row.attempts, row.last_code) == (MessageStatus.PENDING, 1, 451)
    assert row.next_attempt_at > datetime.now(UTC) + timedelta(seconds=30)

    # Once the wait has passed, the next drain delivers it.
    row.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    second = deliver(engine=engine, settings=_settings(smtp_server))
    session.refresh(row)
    assert second.sent == 1 and row.status == MessageStatus.SENT and row.attempts == 2
    assert len(smtp_server.received) == 1


def test_permanent_reply_is_kept_as_failed_with_its_code(session, engine, smtp_server) -> None:
    _staff(session)
    _queue(session, ALICE)
    smtp_server.handler.replies = ["550 5.1.1 No such mailbox"]

    report = deliver(engine=engine, settings=_settings(smtp_server))
    row = session.scalar(select(OutboxMessage))
    session.refresh(row)

    assert (report.failed, report.sent) == (1, 0)
    assert (row.status, row.last_code) == (MessageStatus.FAILED, 550)
    assert "No such mailbox" in row.last_error
    assert smtp_server.received == []


def test_permanent_failure_is_reported_to_the_qa_manager_once(session, engine, smtp_server) -> None:
    _staff(session)
    session.add(Staff(id="QA1", name="Quinn Manager", email="quinn@council.example", role=Role.QA_MANAGER))
    session.commit()
    _queue(session, ALICE)
    smtp_server.handler.replies = ["550 5.1.1 No such mailbox"]

    deliver(engine=engine, settings=_settings(smtp_server))
    deliver(engine=engine, settings=_settings(smtp_server))

    [notice] = smtp_server.received
    assert notice.rcpt_tos == ["quinn@council.example"]
    assert notice.message["Subject"] == "Undelivered: 1 message could not be delivered"
    body = notice.message.get_body(("plain",)).get_content()
    assert "alice@council.example" in body and "550" in body and "M000001" in body


def test_refused_connection_is_transient(session, engine) -> None:
    from smtp_server import free_port

    _staff(session)
    _queue(session, ALICE)
    settings = Settings(database_url="sqlite://", smtp_host="127.0.0.1", smtp_port=free_port())

    report = deliver(engine=engine, settings=settings)
    row = session.scalar(select(OutboxMessage))
    session.refresh(row)

    assert report.retrying == 1 and row.status == MessageStatus.PENDING
    assert "cannot reach SMTP server" in row.last_error


def test_without_smtp_host_messages_become_eml_files(session, engine, tmp_path) -> None:
    _staff(session)
    _queue(session, ALICE)
    settings = Settings(database_url="sqlite://", outbox_dir=tmp_path / "outbox")

    report = deliver(engine=engine, settings=settings)

    files = list((tmp_path / "outbox").glob("*.eml"))
    assert report.sent == 1 and len(files) == 1
    assert b"METHOD:REQUEST" in files[0].read_bytes()


def test_outbox_files_are_named_by_date_kind_reference_and_recipient(session, engine, tmp_path) -> None:
    _staff(session)
    row = _queue(session, ALICE)
    settings = Settings(database_url="sqlite://", outbox_dir=tmp_path / "outbox")

    deliver(engine=engine, settings=settings)

    [file] = (tmp_path / "outbox").iterdir()
    assert file.name == f"2026-11-25_0900_meeting-invite_A-1-LC_alice@council.example_M{row.id:06d}.eml"
    assert message_from_bytes(file.read_bytes())["Message-ID"] == row.message_id


def test_a_stored_reference_cannot_name_a_file_outside_the_outbox(session, engine, tmp_path) -> None:
    _staff(session)
    message = render("delivery_failure", recipient_name=ALICE.name, items=[])
    enqueue(session, build_context(NOW.isoformat()), MessageKey("book", "2026-12", "../../etc/passwd\\x", "x"), ALICE,
            message)
    session.commit()
    settings = Settings(database_url="sqlite://", outbox_dir=tmp_path / "outbox" / "mail")

    report = deliver(engine=engine, settings=settings)

    [file] = (tmp_path / "outbox" / "mail").iterdir()
    assert report.sent == 1 and list((tmp_path / "outbox").iterdir()) == [tmp_path / "outbox" / "mail"]
    assert file.name.startswith("2026-11-25_0900_delivery-failure_etc-passwd-x_alice@council.example_M")


def test_html_variant_escapes_what_it_is_given() -> None:
    composed = render("audit_withdrawn", recipient_name="<script>alert(1)</script>", month_label="December 2026",
                      audit_ref="A-1", child_id="C1", reason="<b>moved</b>")
    assert "<script>" not in composed.html and "&lt;script&gt;" in composed.html
    assert "&lt;b&gt;moved&lt;/b&gt;" in composed.html
    assert "<script>alert(1)</script>" in composed.text  # plain text is not HTML, so nothing to escape


def test_subject_is_a_single_line_even_with_newlines_in_values() -> None:
    composed = render("audit_withdrawn", recipient_name="X", month_label="December 2026",
                      audit_ref="A-1\r\nBcc: evil@example.org", child_id="C1", reason="r")
    assert "\n" not in composed.subject and "\r" not in composed.subject


def test_stored_line_break_in_a_subject_cannot_start_a_header(session, engine, smtp_server) -> None:
    _staff(session)
    message = render("delivery_failure", recipient_name=ALICE.name, items=[])
    enqueue(session, build_context(NOW.isoformat()), MessageKey("book", "2026-12", "A-1", "x"), ALICE, type(message)(**{**message.__dict__, "subject": "Audit A-1\r\nBcc: mallory@evil.example"}))
    session.commit()

    deliver(engine=engine, settings=_settings(smtp_server))

    [received] = smtp_server.received
    assert received.rcpt_tos == ["alice@council.example"]
    assert received.message["Bcc"] is None
    assert received.message["Subject"] == "Audit A-1 Bcc: mallory@evil.example"
    assert b"\r\nBcc:" not in received.data


def test_long_lines_go_base64_and_arrive_whole(session, engine, smtp_server) -> None:
    _staff(session)
    long_line = "é" * 3000  # 6,000 bytes: over SMTP's 998-octet line limit as 8bit
    message = render("delivery_failure", recipient_name=ALICE.name, items=[])
    enqueue(session, build_context(NOW.isoformat()), MessageKey("book", "2026-12", "A-1", "x"), ALICE, type(message)(**{**message.__dict__, "text": long_line}))
    session.commit()

    deliver(engine=engine, settings=_settings(smtp_server))

    [received] = smtp_server.received
    assert max(len(line) for line in received.data.split(b"\r\n")) <= 998
    text = next(p for p in received.message.walk() if p.get_content_type() == "text/plain")
    assert text["Content-Transfer-Encoding"] == "base64"
    assert text.get_content().rstrip("\n") == long_line


def test_marking_sent_leaves_the_connection_fully_durable_again(session, engine, smtp_server) -> None:
    _staff(session)
    _queue(session, ALICE)

    deliver(engine=engine, settings=_settings(smtp_server))

    assert session.scalar(select(OutboxMessage.status)) == MessageStatus.SENT
    session.commit()  # an open SQLite transaction holds the write lock
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        else:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
