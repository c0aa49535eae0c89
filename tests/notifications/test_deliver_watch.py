"""`auditcycle deliver --watch`: the one sender beside the web application, as a real process on a real SMTP server."""
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from auditcycle.core.context import build_context
from auditcycle.core.settings import Settings
from auditcycle.models import OutboxMessage, Staff
from auditcycle.models.enums import MessageStatus, Role
from auditcycle.notifications.gateway import deliver
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.notifications.render import render

AUDITCYCLE = str(Path(sys.executable).parent / "auditcycle")
ALICE = Recipient("S1", "Alice Auditor", "alice@council.example")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _queue(session, step: str, *, commit: bool = True) -> None:
    message = render("fresh_link", recipient_name=ALICE.name, act="sign off action ACT-1", url="LINK",
                     expires_label="18:00 on Friday 11 December 2026")
    enqueue(session, build_context(NOW.isoformat()), MessageKey("web", "2026-12", "ACT-1", step), ALICE, message)
    if commit:
        session.commit()


def _env(tmp_path: Path, db_url: str, smtp_server, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITCYCLE_")}
    (tmp_path / "auditcycle.toml").write_text("", encoding="utf-8")
    return env | extra | {"AUDITCYCLE_CONFIG": str(tmp_path / "auditcycle.toml"), "AUDITCYCLE_DATABASE_URL": db_url,
                  "AUDITCYCLE_SMTP_HOST": "127.0.0.1", "AUDITCYCLE_SMTP_PORT": str(smtp_server.port),
                  "AUDITCYCLE_OUTBOX_DIR": str(tmp_path / "outbox")}


def _wait_for(condition, seconds: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if condition():
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def test_a_message_queued_while_watching_is_sent_within_seconds_once_and_sigterm_exits_0(
        tmp_path: Path, db_url: str, engine, session, smtp_server) -> None:
    session.add(Staff(id=ALICE.staff_id, name=ALICE.name, email=ALICE.email, role=Role.KEY_WORKER))
    session.commit()
    watcher = subprocess.Popen([AUDITCYCLE, "deliver", "--watch", "--interval", "1"],
                               env=_env(tmp_path, db_url, smtp_server), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert watcher.stderr is not None
        started = watcher.stderr.readline()
        _queue(session, "first")
        took = _wait_for(lambda: len(smtp_server.received) >= 1, 10)
        time.sleep(2.5)  # two more drains: the message is not sent again
        received_after_drains = len(smtp_server.received)
    finally:
        watcher.send_signal(signal.SIGTERM)
        out, err = watcher.communicate(timeout=30)

    assert "watching the outbox every 1 seconds" in started
    assert took is not None and took < 5
    assert received_after_drains == 1
    assert smtp_server.received[0].rcpt_tos == [ALICE.email]
    assert watcher.returncode == 0, err
    log = started + err
    assert "outbox drained: 1 sent, 0 to retry, 0 held, 0 failed" in log
    assert "stopped by SIGTERM: 1 sent in all" in log
    assert ALICE.email not in log and ALICE.name not in log and "/act/" not in log
    assert session.scalar(select(OutboxMessage.status).execution_options(populate_existing=True)) == MessageStatus.SENT


def test_sigint_between_drains_also_stops_cleanly(tmp_path: Path, db_url: str, smtp_server) -> None:
    watcher = subprocess.Popen([AUDITCYCLE, "deliver", "--watch", "--interval", "30"],
                               env=_env(tmp_path, db_url, smtp_server), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert watcher.stderr is not None
    watcher.stderr.readline()
    started = time.monotonic()
    watcher.send_signal(signal.SIGINT)
    _out, err = watcher.communicate(timeout=30)

    assert watcher.returncode == 0, err
    assert time.monotonic() - started < 5  # not the 30 seconds of the nap
    assert "stopped by SIGINT: 0 sent in all" in err


@pytest.fixture
def sqlite_session(tmp_path: Path, sqlite_template: Path):
    """A session on a SQLite copy of the migrated database: the write lock below is SQLite's, so this test is too."""
    import shutil

    from auditcycle.storage.db import make_engine

    path = tmp_path / "locked.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with sessionmaker(bind=engine, expire_on_commit=False)() as s:
        yield f"sqlite:///{path}", s
    engine.dispose()


def test_a_database_locked_past_the_wait_is_logged_and_the_watcher_carries_on(
        tmp_path: Path, sqlite_session, smtp_server) -> None:
    db_url, session = sqlite_session
    session.add(Staff(id=ALICE.staff_id, name=ALICE.name, email=ALICE.email, role=Role.KEY_WORKER))
    session.commit()
    watcher = subprocess.Popen([AUDITCYCLE, "deliver", "--watch", "--interval", "0.5"],
                               env=_env(tmp_path, db_url, smtp_server, AUDITCYCLE_SQLITE_BUSY_SECONDS="0.5"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert watcher.stderr is not None
        watcher.stderr.readline()
        _queue(session, "held", commit=False)  # this transaction holds SQLite's write lock meanwhile
        time.sleep(3)
        session.commit()
        took = _wait_for(lambda: len(smtp_server.received) >= 1, 10)
        time.sleep(1.5)
    finally:
        watcher.send_signal(signal.SIGTERM)
        _out, err = watcher.communicate(timeout=30)

    assert watcher.returncode == 0, err
    assert "outbox not drained (the database stayed locked" in err
    assert took is not None and len(smtp_server.received) == 1
    assert "stopped by SIGTERM: 1 sent in all" in err


def test_a_stop_asked_for_mid_batch_finishes_the_message_in_hand_and_requeues_the_rest(
        engine, session, smtp_server) -> None:
    session.add(Staff(id=ALICE.staff_id, name=ALICE.name, email=ALICE.email, role=Role.KEY_WORKER))
    session.commit()
    for n in range(3):
        _queue(session, f"step-{n}")
    settings = Settings(database_url="sqlite://", smtp_host="127.0.0.1", smtp_port=smtp_server.port)

    report = deliver(engine=engine, settings=settings, holder="h1", stopping=lambda: len(smtp_server.received) >= 1)

    assert report.sent == len(smtp_server.received) == 1
    with sessionmaker(bind=engine)() as reader:
        rows = list(reader.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [r.status for r in rows] == [MessageStatus.SENT, MessageStatus.PENDING, MessageStatus.PENDING]
    assert [r.claimed_by for r in rows[1:]] == [None, None]
    later = deliver(engine=engine, settings=settings, holder="h2")
    assert later.sent == 2 and len(smtp_server.received) == 3
