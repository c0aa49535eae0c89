"""Phase leases: one run of a phase at a time, with expiry and takeover, on SQLite and PostgreSQL."""
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import sessionmaker

from auditcycle.models import OutboxMessage, PhaseLease, PhaseRun
from auditcycle.models.enums import MessageStatus, PhaseRunStatus
from auditcycle.runs.leases import PhaseBusy, acquire, busy_message, current, held, release, renew

T0 = datetime(2026, 11, 23, 9, 0, 3, tzinfo=UTC)
TTL = timedelta(minutes=30)
LONDON = ZoneInfo("Europe/London")


def test_acquire_free_phase_then_refuse_a_second_holder(engine: Engine) -> None:
    first = acquire("chase", "run-a", TTL, engine=engine, now=T0)
    second = acquire("chase", "run-b", TTL, engine=engine, now=T0 + timedelta(minutes=1))

    assert (first, second) == (True, False)
    lease = current("chase", engine=engine)
    assert (lease.holder, lease.acquired_at, lease.expires_at) == ("run-a", T0, T0 + TTL)


def test_acquire_phases_are_independent(engine: Engine) -> None:
    assert acquire("chase", "run-a", TTL, engine=engine, now=T0)
    assert acquire("escalate", "run-b", TTL, engine=engine, now=T0)


def test_acquire_again_by_the_holder_extends_its_lease(engine: Engine) -> None:
    acquire("chase", "run-a", TTL, engine=engine, now=T0)

    again = acquire("chase", "run-a", TTL, engine=engine, now=T0 + timedelta(minutes=10))

    assert again is True
    assert current("chase", engine=engine).expires_at == T0 + timedelta(minutes=40)


def test_acquire_takes_over_only_once_the_lease_has_expired(engine: Engine) -> None:
    acquire("chase", "killed-run", TTL, engine=engine, now=T0)

    before = acquire("chase", "next-run", TTL, engine=engine, now=T0 + timedelta(minutes=29))
    after = acquire("chase", "next-run", TTL, engine=engine, now=T0 + timedelta(minutes=30, seconds=1))

    assert (before, after) == (False, True)
    assert current("chase", engine=engine).holder == "next-run"
    # The killed run, if it wakes up, finds it no longer holds the phase.
    assert renew("chase", "killed-run", TTL, engine=engine) is False
    assert release("chase", "killed-run", engine=engine) is False
    assert current("chase", engine=engine).holder == "next-run"


def test_renew_keeps_the_lease_from_expiring(engine: Engine) -> None:
    acquire("chase", "run-a", TTL, engine=engine, now=T0)

    renewed = renew("chase", "run-a", TTL, engine=engine, now=T0 + timedelta(minutes=20))
    taker = acquire("chase", "run-b", TTL, engine=engine, now=T0 + timedelta(minutes=40))

    assert (renewed, taker) == (True, False)


def test_release_frees_the_phase_at_once(engine: Engine) -> None:
    acquire("chase", "run-a", TTL, engine=engine, now=T0)

    released = release("chase", "run-a", engine=engine)

    assert released is True
    assert current("chase", engine=engine) is None
    assert acquire("chase", "run-b", TTL, engine=engine, now=T0 + timedelta(seconds=1))


@pytest.mark.parametrize("start", ["free", "expired"])
def test_acquire_concurrent_takers_exactly_one_wins(engine: Engine, start: str) -> None:
    if start == "expired":
        acquire("chase", "killed-run", TTL, engine=engine, now=datetime.now(UTC) - timedelta(hours=1))
    takers = 8
    barrier = threading.Barrier(takers)
    results: dict[str, bool] = {}

    def take(holder: str) -> None:
        barrier.wait()
        results[holder] = acquire("chase", holder, TTL, engine=engine)

    threads = [threading.Thread(target=take, args=(f"run-{i}",)) for i in range(takers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [holder for holder, won in results.items() if won]
    assert len(results) == takers
    assert len(winners) == 1
    assert current("chase", engine=engine).holder == winners[0]


def test_busy_message_names_the_holder_and_since_when() -> None:
    lease = PhaseLease(phase="chase", holder="0b7c-flow-run", acquired_at=datetime.now(UTC),
                       expires_at=datetime.now(UTC) + TTL)
    since = lease.acquired_at.astimezone(LONDON)

    message = busy_message("chase", lease, LONDON)

    assert message == (f"the chase phase is already running (since {since:%H:%M:%S}, held by flow run "
                       "0b7c-flow-run); try again when it finishes")


def test_held_refuses_at_once_while_another_run_holds_the_phase(engine: Engine) -> None:
    acquire("chase", "cli-4242", TTL, engine=engine)

    with pytest.raises(PhaseBusy) as refused:
        with held("chase", "run-b", tz=LONDON, ttl=TTL, wait=0, engine=engine):
            pytest.fail("the block ran while another run held the phase")

    assert "the chase phase is already running (since " in str(refused.value)
    assert "held by cli-4242); try again when it finishes" in str(refused.value)
    assert current("chase", engine=engine).holder == "cli-4242"


def test_held_waits_for_the_holder_to_finish_then_runs(engine: Engine) -> None:
    acquire("chase", "run-a", TTL, engine=engine)
    threading.Timer(1.0, release, args=("chase", "run-a"), kwargs={"engine": engine}).start()
    started = time.monotonic()

    with held("chase", "run-b", tz=LONDON, ttl=TTL, wait=10, engine=engine):
        waited = time.monotonic() - started
        holder = current("chase", engine=engine).holder

    assert holder == "run-b"
    assert 0.9 <= waited < 10
    assert current("chase", engine=engine) is None


def test_held_renews_a_short_lease_while_the_block_runs_and_releases_on_error(engine: Engine) -> None:
    ttl = timedelta(seconds=0.9)

    with pytest.raises(RuntimeError):
        with held("chase", "run-a", tz=LONDON, ttl=ttl, wait=0, engine=engine):
            time.sleep(2.5)  # almost three lifetimes: only renewal keeps the lease
            assert acquire("chase", "run-b", ttl, engine=engine) is False
            raise RuntimeError("the phase failed")

    assert current("chase", engine=engine) is None


def test_phase_records_the_run_under_the_lease_and_releases_it(app_env: str) -> None:
    from auditcycle.flows.common import phase
    from auditcycle.storage.db import get_engine

    with phase("chase", "2026-12", "2026-12-01T08:00", "scheduler:chase") as (month, _, record):
        holder = current("chase").holder
        record.summary = {"month": month}

    with sessionmaker(bind=get_engine())() as s:
        runs = list(s.scalars(select(PhaseRun)))
    assert holder.startswith("cli-")
    assert [(r.phase, r.status, r.summary) for r in runs] == [("chase", PhaseRunStatus.SUCCEEDED,
                                                                {"month": "2026-12"})]
    assert current("chase") is None


def test_phase_refuses_without_recording_a_run_while_the_phase_is_held(app_env: str) -> None:
    from auditcycle.flows.common import phase
    from auditcycle.storage.db import get_engine

    acquire("chase", "another-flow-run", TTL)

    with pytest.raises(PhaseBusy, match="held by flow run another-flow-run"):
        with phase("chase", "2026-12", "2026-12-01T08:00", "scheduler:chase"):
            pytest.fail("the phase ran while another run held it")

    with sessionmaker(bind=get_engine())() as s:
        assert s.scalar(select(func.count()).select_from(PhaseRun)) == 0
    assert current("chase").holder == "another-flow-run"


def test_scheduled_skip_off_day_and_busy_phase_but_never_with_a_month(app_env: str) -> None:
    from auditcycle.flows.common import scheduled_skip

    on_day = scheduled_skip("sample", None, "2026-11-23T07:00")
    off_day = scheduled_skip("sample", None, "2026-11-24T07:00")
    given_month = scheduled_skip("sample", "2026-12", "2026-11-24T07:00")
    acquire("chase", "another-flow-run", TTL)
    busy = scheduled_skip("chase", None, "2026-11-24T08:00")

    assert on_day is None and given_month is None
    assert off_day == {"skipped": "not the sampling day: this month's is Mon 23 Nov 2026; "
                                  "give a month to run sample now"}
    assert busy["skipped"].startswith("the chase phase is already running (since ")


def _process() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_acquire_takes_over_at_once_from_a_killed_holder_on_this_host(engine: Engine) -> None:
    from auditcycle.runs.leases import holder_name

    killed = _process()
    dead_holder = holder_name("flow-run-1", pid=killed.pid)
    acquire("notify", dead_holder, TTL, engine=engine)
    alive_before_kill = acquire("notify", "next-run", TTL, engine=engine)
    killed.kill()
    killed.wait()

    taken = acquire("notify", "next-run", TTL, engine=engine)

    assert (alive_before_kill, taken) == (False, True)
    assert current("notify", engine=engine).holder == "next-run"
    assert renew("notify", dead_holder, TTL, engine=engine) is False


def test_acquire_waits_out_the_lease_of_a_holder_on_another_host(engine: Engine) -> None:
    gone = _process()
    gone.kill()
    gone.wait()
    elsewhere = f"flow-run-1@another-host/0000abcd:{gone.pid}"
    acquire("notify", elsewhere, TTL, engine=engine)

    taken = acquire("notify", "next-run", TTL, engine=engine)

    # We cannot see another machine's processes, so only the expiry frees the phase.
    assert taken is False
    assert current("notify", engine=engine).holder == elsewhere


def test_a_restarted_flow_run_takes_over_at_once_from_its_own_earlier_attempt_on_another_host(engine: Engine) -> None:
    from auditcycle.runs.leases import holder_name

    earlier = "flow-run-1@another-host/0000abcd:4242"
    acquire("notify", earlier, TTL, engine=engine)

    other_run = acquire("notify", holder_name("flow-run-2"), TTL, engine=engine)
    other_command = acquire("notify", holder_name(None), TTL, engine=engine)
    restarted = acquire("notify", holder_name("flow-run-1"), TTL, engine=engine)

    assert (other_run, other_command, restarted) == (False, False, True)
    assert current("notify", engine=engine).holder == holder_name("flow-run-1")


def test_busy_message_names_the_holders_process_and_host() -> None:
    from auditcycle.runs.leases import holder_name, this_host

    lease = PhaseLease(phase="chase", holder=holder_name("0b7c-flow-run", pid=4242), acquired_at=datetime.now(UTC),
                       expires_at=datetime.now(UTC) + TTL)

    message = busy_message("chase", lease, LONDON)

    host = this_host().split("/")[0]
    assert f"held by flow run 0b7c-flow-run, process 4242 on {host}); try again" in message


def _claimed(session, n: int, holder: str | None, status: MessageStatus = MessageStatus.SENDING) -> None:
    """Add a message in the state a sender's claim leaves it: sending, by a holder, until the claim lapses."""
    session.add(OutboxMessage(
        idempotency_key=f"notify:2026-12:A-{n}:notice:S{n}", phase="notify", subject_ref=f"A-{n}", step="notice",
        recipient_email=f"s{n}@council.example", template="audit_notice", subject="Audit", body_text="x",
        body_html="x", message_id=f"<{n}@council.example>", status=status, attempts=0, created_at=T0,
        next_attempt_at=datetime.now(UTC) + timedelta(minutes=10), claimed_by=holder))


def test_taking_over_from_a_killed_holder_queues_its_claimed_mail_again_but_no_live_senders(engine: Engine) -> None:
    from auditcycle.runs.leases import holder_name

    killed, live = _process(), _process()
    dead_holder, live_holder = holder_name("flow-run-1", pid=killed.pid), holder_name("flow-run-2", pid=live.pid)
    with sessionmaker(bind=engine).begin() as s:
        _claimed(s, 1, dead_holder)
        _claimed(s, 2, dead_holder)
        _claimed(s, 3, live_holder)  # a parallel sender, still running: its messages may be on the wire
        _claimed(s, 4, dead_holder, MessageStatus.SENT)
    acquire("notify", dead_holder, TTL, engine=engine)
    acquire("book", live_holder, TTL, engine=engine)
    killed.kill()
    killed.wait()
    try:
        taken = acquire("notify", "next-run", TTL, engine=engine)
        refused = acquire("book", "next-run", TTL, engine=engine)
    finally:
        live.kill()
        live.wait()

    with sessionmaker(bind=engine)() as s:
        rows = {m.subject_ref: m for m in s.scalars(select(OutboxMessage))}
    assert (taken, refused) == (True, False)
    assert {ref: (m.status, m.claimed_by) for ref, m in rows.items()} == {
        "A-1": (MessageStatus.PENDING, None), "A-2": (MessageStatus.PENDING, None),
        "A-3": (MessageStatus.SENDING, live_holder), "A-4": (MessageStatus.SENT, dead_holder)}
    assert rows["A-1"].next_attempt_at <= datetime.now(UTC) and rows["A-3"].next_attempt_at > datetime.now(UTC)
