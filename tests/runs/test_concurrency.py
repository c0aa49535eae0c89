"""Two copies of the same phase at once, on SQLite and PostgreSQL: the work is done once, and said plainly.

The first line of defence is the phase lease (auditcycle.runs.leases): a scheduled run that finds the
phase busy skips quietly and a manual one is refused, naming the holder. The second line is the
database itself: with the lease out of the way, unique constraints and locking still stop a second
sample, message or meeting, and the run that loses gets a clear error, never a raw IntegrityError or
"database is locked". Parallel senders share one outbox: PostgreSQL claims with FOR UPDATE SKIP
LOCKED, SQLite serialises the claim with BEGIN IMMEDIATE.
"""
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from conftest import QA_MANAGER
from factories import approve_list_at
from figures import report
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import sessionmaker

from auditcycle.core.context import build_context
from auditcycle.core.errors import Conflict
from auditcycle.models import Audit, AuditCycle, Meeting, OutboxMessage, PhaseRun, Staff
from auditcycle.models.enums import AuditStatus, MessageStatus, PhaseRunStatus, Role

MONTH = "2026-12"
SAMPLING_DAY = "2026-11-23"  # the sampling day of November 2026: sample, notify and book all run on it
RAW_ERRORS = ("database is locked", "traceback", "integrityerror", "operationalerror", "uniqueviolation")
FIGURES: dict[str, list] = {"races": [], "bypassed": [], "senders": []}


@pytest.fixture(scope="module", autouse=True)
def figures(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print what the module measured, for docs/reliability.md, once its tests have run."""
    yield
    for kind, rows in FIGURES.items():
        for row in rows:
            report(request, f"concurrency {kind}: {json.dumps(row)}")


@dataclass
class Finished:
    """One CLI process of a race, once it has exited."""

    args: list[str]
    code: int
    out: str
    err: str

    @property
    def raw_errors(self) -> list[str]:
        """Return the raw database errors or tracebacks that reached the user, if any."""
        text = (self.out + self.err).lower()
        return [e for e in RAW_ERRORS if e in text]


AUDITCYCLE = str(Path(sys.executable).parent / "auditcycle")


@contextmanager
def lease_table_held(engine: Engine) -> Iterator[None]:
    """Hold the phase-lease table (on SQLite, the database's write lock) so arriving runs queue at the lease."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("SELECT 1")  # the engine begins every transaction IMMEDIATE: the write lock
        else:
            conn.exec_driver_sql("LOCK TABLE phase_lease IN ACCESS EXCLUSIVE MODE")
        yield
        conn.rollback()


def _running(client, phase: str) -> set:
    """Return the ids of the phase's flow runs in the Running state (a killed run elsewhere stays Running)."""
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    return {run.id for run in client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[phase])),
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
            type=FlowRunFilterStateType(any_=[StateType.RUNNING]))))}


def race(engine: Engine, tmp_path: Path, env: dict[str, str], phase: str, *commands: list[str],
         timeout: float = 180) -> list[Finished]:
    """Start one real `auditcycle` process per command and let them reach the phase's lease at the same moment.

    A start signal alone would not do: Prefect takes a variable second or more to begin each flow run,
    enough for one run to finish before the other starts. So the lease table is held until both flow
    runs are running and waiting on it, then let go, and both contend for the lease at once.
    """
    from prefect.client.orchestration import get_client

    folder = tmp_path / f"race-{phase}-{time.monotonic_ns()}"
    folder.mkdir()
    started = []
    with lease_table_held(engine), get_client(sync_client=True) as client:
        already = _running(client, phase)  # runs killed by earlier tests never leave Running
        for i, args in enumerate(commands):
            with (folder / f"out-{i}").open("w") as out, (folder / f"err-{i}").open("w") as err:
                started.append((args, subprocess.Popen([AUDITCYCLE, *args], env=env, stdout=out, stderr=err)))
        deadline = time.monotonic() + timeout
        while len(_running(client, phase) - already) < len(commands):
            if any(proc.poll() is not None for _, proc in started) or time.monotonic() > deadline:
                for _, proc in started:
                    proc.kill()
                pytest.fail(f"the {phase} runs never both reached the lease: "
                            f"{[(folder / f'err-{i}').read_text()[-2000:] for i in range(len(started))]}")
            time.sleep(0.2)
        time.sleep(0.5)  # both are now inside their flow runs, blocked on the lease table
    finished = []
    for i, (args, proc) in enumerate(started):
        code = proc.wait(timeout=timeout)
        finished.append(Finished(args, code, (folder / f"out-{i}").read_text(), (folder / f"err-{i}").read_text()))
    return finished


@pytest.fixture
def race_env(authority: Engine, smtp_env, prefect_harness: str) -> dict[str, str]:
    """The environment of a CLI process: the test database, the loopback SMTP server, the Prefect server."""
    import prefect.settings

    return {**os.environ, "PREFECT_API_URL": prefect.settings.PREFECT_API_URL.value(),
            "AUDITCYCLE_LEASE_WAIT_SECONDS": "0"}


NOTHING_LEFT = {"sample": lambda r: r["created"] is False, "notify": lambda r: r["queued"] == 0,
                "book": lambda r: r["booked"] == 0}


def _outcome(phase: str, run: Finished) -> tuple[str, dict | None]:
    """Classify one run of a race: it did the phase, came after and found it done, skipped, or was refused."""
    result = json.loads(run.out) if run.code == 0 and run.out.strip().startswith("{") else None
    # The loser reads the holder after it failed to take the lease; if the winner has let go by then,
    # there is no one to name and the message says the phase was busy a moment ago.
    busy = (f"the {phase} phase is already running (since ", f"the {phase} phase was busy a moment ago; try again")
    if result is None:
        assert run.code == 1 and any(f"error: {b}" in run.err for b in busy), (run.out, run.err[-2000:])
        return "refused", None
    if "skipped" in result:
        assert result["skipped"].startswith(busy), run.out
        return "skipped", result
    return ("after" if NOTHING_LEFT[phase](result) else "did"), result


def _winner_and_loser(phase: str, finished: list[Finished]) -> tuple[dict, str]:
    """Check one run did the phase and the other skipped quietly, was refused plainly, or came after it
    and found nothing left to do; return the winner's summary and how the other run ended.

    The third ending is a fair loss too: on SQLite the loser waits for the write lock in the busy
    handler, which polls; under load it can miss every gap between the winner's transactions and take
    the lease only once the winner has let it go.
    """
    outcomes = [_outcome(phase, run) for run in finished]
    did = [result for kind, result in outcomes if kind == "did"]
    others = [kind for kind, _ in outcomes if kind != "did"]
    assert len(did) == 1 and len(others) == 1, [(r.args, r.code, r.out, r.err[-2000:]) for r in finished]
    return did[0], others[0]


def _check_mail_once(engine: Engine, smtp_server) -> int:
    """Check every queued message was sent, and received by the SMTP server exactly once; return how many."""
    with sessionmaker(bind=engine)() as s:
        rows = list(s.execute(select(OutboxMessage.message_id, OutboxMessage.status, OutboxMessage.idempotency_key)))
    received = Counter(r.message["Message-ID"] for r in smtp_server.received)
    assert [m for m, n in received.items() if n > 1] == []
    assert [k for k, n in Counter(key for _, _, key in rows).items() if n > 1] == []
    assert {status for _, status, _ in rows} <= {MessageStatus.SENT}
    assert set(received) == {message_id for message_id, _, _ in rows}
    return len(received)


def _runs(engine: Engine, phase: str) -> list[PhaseRunStatus]:
    with sessionmaker(bind=engine)() as s:
        return list(s.scalars(select(PhaseRun.status).where(PhaseRun.phase == phase)))


def _prepare(engine: Engine, phase: str) -> None:
    """Bring the month to the point where `phase` has work to do: drawn for notify, announced for book."""
    from auditcycle.core.clock import Month
    from auditcycle.core.context import build_context
    from auditcycle.notices.queue import queue_notices
    from auditcycle.sampling.cycle import draw

    if phase in {"notify", "book"}:
        with sessionmaker(bind=engine).begin() as s:
            draw(s, build_context(f"{SAMPLING_DAY}T07:00"), month=Month.parse(MONTH), size=6, seed=5)
            approve_list_at(s, f"{SAMPLING_DAY}T07:30", MONTH)
    if phase == "book":
        with sessionmaker(bind=engine).begin() as s:
            queue_notices(s, build_context(f"{SAMPLING_DAY}T10:00"), cycle=s.scalar(select(AuditCycle)))


# Each race costs two CLI processes (Prefect included), so `make test` races the sample phase once per
# database; `make concurrency` races every writing phase, several rounds (see the Makefile).
RACE_PHASES = os.environ.get("AUDITCYCLE_RACE_PHASES", "sample").split(",")
RACE_ROUNDS = range(1, int(os.environ.get("AUDITCYCLE_RACE_ROUNDS", "1")) + 1)
PHASE_HOURS = {"sample": "07:00", "notify": "10:00", "book": "11:00"}


@pytest.mark.parametrize("round_", RACE_ROUNDS)
@pytest.mark.parametrize("phase", RACE_PHASES)
def test_scheduled_and_manual_copies_of_a_writing_phase_at_once_do_it_once(
        authority: Engine, race_env: dict[str, str], smtp_env, tmp_path: Path, phase: str, round_: int) -> None:
    """A scheduled and a manual run of the phase, in two real processes, reach its lease at the same moment."""
    _prepare(authority, phase)
    now = f"{SAMPLING_DAY}T{PHASE_HOURS[phase]}"
    scheduled = ["run", phase, "--by", QA_MANAGER, "--now", now, "--json"]
    manual = ["run", phase, "--by", QA_MANAGER, "--month", MONTH, "--now", now, "--json"]

    finished = race(authority, tmp_path, race_env, phase, scheduled, manual)

    assert [(r.args[1], r.raw_errors) for r in finished] == [(phase, []), (phase, [])]
    summary, loser = _winner_and_loser(phase, finished)
    # A loser that came after the winner records its own (empty) run; the others record none.
    assert _runs(authority, phase) == [PhaseRunStatus.SUCCEEDED] * (2 if loser == "after" else 1)
    with sessionmaker(bind=authority)() as s:
        audits = list(s.scalars(select(Audit).join(AuditCycle).where(AuditCycle.month == MONTH)))
        cycles = s.scalar(select(func.count()).select_from(AuditCycle).where(AuditCycle.month == MONTH))
        meetings = list(s.execute(select(Meeting.audit_id, Meeting.kind, Meeting.slot_key)))
    assert cycles == 1
    assert len({a.child_id for a in audits}) == len(audits) > 0
    if phase == "sample":
        assert summary["created"] is True and summary["audits"] == len(audits)
        assert {a.status for a in audits} == {AuditStatus.ALLOCATED}
    if phase == "notify":
        assert summary["queued"] > 0 and {a.status for a in audits} == {AuditStatus.NOTIFIED}
    if phase == "book":
        assert summary["booked"] == len(meetings) > 0
        assert [m for m, n in Counter(meetings).items() if n > 1] == []
        assert {a.status for a in audits} == {AuditStatus.BOOKED}
    received = _check_mail_once(authority, smtp_env)
    FIGURES["races"].append({"engine": authority.dialect.name, "phase": phase, "round": round_,
                             "loser": loser, "audits": len(audits),
                             "meetings": len(meetings), "received": received,
                             "raw_errors": sum(len(r.raw_errors) for r in finished)})


BARRIER_SECONDS = 5.0


class Interleave:
    """Make two threads' transactions overlap on PostgreSQL: each waits for the other before its first write.

    SQLite needs no help and could not take it: its transactions begin IMMEDIATE, so the second thread
    is already queued behind the first's write lock, which is the very serialisation under test.
    """

    def __init__(self, engine: Engine, parties: int = 2) -> None:
        self.barrier = threading.Barrier(parties, timeout=BARRIER_SECONDS)
        self.local = threading.local()
        self.engine = engine
        self.active = engine.dialect.name == "postgresql"
        self.spans: dict[str, list[float]] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "begin", self._begun)
        event.listen(engine, "commit", self._ended)
        event.listen(engine, "rollback", self._ended)

    def _begun(self, _conn) -> None:
        self.spans.setdefault(threading.current_thread().name, [time.monotonic(), 0.0])

    def _ended(self, _conn) -> None:
        span = self.spans.get(threading.current_thread().name)
        if span is not None and not span[1]:
            span[1] = time.monotonic()

    def _before(self, _conn, _cursor, statement: str, *_args) -> None:
        if self.active and not getattr(self.local, "wrote", False) and statement.lstrip().upper().startswith(
                ("INSERT", "UPDATE")):
            self.local.wrote = True
            try:
                self.barrier.wait()
            except threading.BrokenBarrierError:
                pass  # the other thread is waiting on a lock this one holds: the serialisation under test

    def overlapped(self) -> bool:
        """Say whether the two transactions were open at the same time."""
        (a0, a1), (b0, b1) = self.spans.values()
        return a0 < b1 and b0 < a1

    def remove(self) -> None:
        """Stop listening."""
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "begin", self._begun)
        event.remove(self.engine, "commit", self._ended)
        event.remove(self.engine, "rollback", self._ended)


def both_at_once(engine: Engine, work, other=None) -> list[object]:
    """Run a unit of work (or two) in two threads at once, lease bypassed; return each result or error."""
    interleave = Interleave(engine)
    start = threading.Barrier(2)
    results: dict[str, object] = {}

    def run(name: str) -> None:
        start.wait()
        try:
            results[name] = (other if name == "second" and other else work)()
        except Exception as exc:  # the outcome under test, kept to assert on
            results[name] = exc

    threads = [threading.Thread(target=run, args=(name,), name=name) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    interleave.remove()
    assert interleave.overlapped() is (engine.dialect.name == "postgresql"), interleave.spans
    return [results["first"], results["second"]]


CLEAR_CONFLICT = ("was saved by another run at the same moment; nothing from this run was saved. Run it again: "
                  "it carries on from what the other run did, and sends and books nothing twice")


def _split(outcomes: list[object]) -> tuple[list[object], list[Exception]]:
    done = [o for o in outcomes if not isinstance(o, Exception)]
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(e, Conflict) for e in errors), [repr(e) for e in errors]
    return done, errors


def test_lease_bypassed_the_database_still_does_each_phase_once(authority: Engine, app_env: str) -> None:
    """Two threads run the sample, notice and booking units at once with no lease: constraints and locks hold."""
    from auditcycle.storage.db import get_engine
    from auditcycle.tasks.booking import book_month_meetings
    from auditcycle.tasks.notices import queue_month_notices
    from auditcycle.tasks.sampling import draw_sample

    engine = get_engine()
    factory = sessionmaker(bind=engine)
    name = engine.dialect.name

    drawn, draw_errors = _split(both_at_once(engine, lambda: draw_sample.fn(month=MONTH, now=f"{SAMPLING_DAY}T07:00")))
    with factory.begin() as s:
        approve_list_at(s, f"{SAMPLING_DAY}T08:00", MONTH)
    queued, notify_errors = _split(both_at_once(engine,
                                                lambda: queue_month_notices.fn(month=MONTH, now=f"{SAMPLING_DAY}T10:00")))
    booked, book_errors = _split(both_at_once(engine, lambda: book_month_meetings.fn(month=MONTH, now=f"{SAMPLING_DAY}T11:00")))

    with factory() as s:
        cycles = s.scalar(select(func.count()).select_from(AuditCycle))
        audits = list(s.scalars(select(Audit)))
        keys = list(s.scalars(select(OutboxMessage.idempotency_key)))
        meetings = list(s.execute(select(Meeting.audit_id, Meeting.kind, Meeting.slot_key)))
    assert cycles == 1 and len({a.child_id for a in audits}) == len(audits) > 0
    assert sorted(d["created"] for d in drawn) == [False, True]  # draws take turns (see cycle.DRAW_LOCK)
    assert sum(queued) == len([k for k in keys if k.startswith("notify:")]) > 0 and sorted(queued)[0] == 0
    assert sum(b["booked"] for b in booked) == len(meetings) > 0
    assert [k for k, n in Counter(keys).items() if n > 1] == []
    assert [m for m, n in Counter(meetings).items() if n > 1] == []
    errors = draw_errors + notify_errors + book_errors
    if name == "postgresql":
        # The bookings both read before either wrote; the second insert of the first meeting (or of its
        # invite's link, whichever the flush writes first) waited on the first's uncommitted key and was
        # refused, with the constraint named. The second notice run
        # waited on the first's row locks, then found every message already queued.
        assert (len(draw_errors), len(notify_errors), len(book_errors)) == (0, 0, 1)
        assert str(book_errors[0]) in {f"the same record ({key}) {CLEAR_CONFLICT}"
                                       for key in ("uq_meeting_audit_id_kind_slot_key", "uq_meeting_reference",
                                                   "uq_link_issue_key")}
    else:
        assert errors == []  # BEGIN IMMEDIATE: the second waited, then found the work done
    FIGURES["bypassed"].append({"engine": name, "pairs": 3, "conflicts": len(errors), "cycles": cycles,
                                "audits": len(audits), "messages": len(keys), "meetings": len(meetings)})


# A third CLI process: part of `make concurrency` (AUDITCYCLE_CLI_CLASH=1), not of `make test`.
if os.environ.get("AUDITCYCLE_CLI_CLASH") == "1":
    def _blocked_on_a_lock(engine: Engine) -> bool:
        with engine.connect() as conn:
            return bool(conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).scalar())


    def test_a_clash_past_the_lease_reaches_the_cli_user_as_one_clear_line(
            authority: Engine, race_env: dict[str, str], tmp_path: Path) -> None:
        """A `run book` that meets another writer the lease did not stop exits 1 with a plain `error:` line.

        On PostgreSQL the other writer has inserted the same meetings and commits while the CLI waits on
        them: the unique constraint refuses the CLI's copy. On SQLite the other writer keeps the database
        locked past the CLI's busy wait.
        """
        from auditcycle.booking.meetings import book
        from auditcycle.core.clock import Month
        from auditcycle.core.context import build_context
        from auditcycle.notices.queue import queue_notices
        from auditcycle.sampling.cycle import draw

        ctx = lambda hour: build_context(f"{SAMPLING_DAY}T{hour}")  # noqa: E731
        with sessionmaker(bind=authority).begin() as s:
            draw(s, ctx("07:00"), month=Month.parse(MONTH), size=4, seed=5)
            approve_list_at(s, f"{SAMPLING_DAY}T07:30", MONTH)
        with sessionmaker(bind=authority).begin() as s:
            queue_notices(s, ctx("10:00"), cycle=s.scalar(select(AuditCycle)))
        env = {**race_env, "AUDITCYCLE_SQLITE_BUSY_SECONDS": "1"}
        out, err = tmp_path / "out", tmp_path / "err"
        sqlite = authority.dialect.name == "sqlite"

        with sessionmaker(bind=authority)() as other:
            other.connection()  # on SQLite, BEGIN IMMEDIATE: the write lock, held until the end of the block
            booked = book(other, ctx("11:00"), cycle=other.scalar(select(AuditCycle)))
            with out.open("w") as o, err.open("w") as e:
                cli = subprocess.Popen([AUDITCYCLE, "run", "book", "--by", QA_MANAGER, "--month", MONTH,
                                        "--now", f"{SAMPLING_DAY}T11:05"],
                                       env=env, stdout=o, stderr=e)
            if sqlite:
                code = cli.wait(timeout=180)
            else:
                deadline = time.monotonic() + 180
                while not _blocked_on_a_lock(authority):
                    assert cli.poll() is None and time.monotonic() < deadline, err.read_text()[-2000:]
                    time.sleep(0.2)
            other.commit()
        if not sqlite:
            code = cli.wait(timeout=180)

        finished = Finished(["run", "book"], code, out.read_text(), err.read_text())
        if sqlite:
            expected = ("error: the database stayed locked by another auditcycle process for more than 1 s; nothing "
                        "from this run was saved. Run it again once the other run has finished")
        else:
            expected = "was saved by another run at the same moment; nothing from this run was saved."
        assert (finished.code, finished.raw_errors) == (1, [])
        assert expected in " ".join(finished.err.split()), finished.err[-2000:]
        with sessionmaker(bind=authority)() as s:
            meetings = list(s.execute(select(Meeting.audit_id, Meeting.kind, Meeting.slot_key)))
        assert len(meetings) == booked.booked > 0 and len(set(meetings)) == len(meetings)
        FIGURES["bypassed"].append({"engine": authority.dialect.name, "pairs": 1, "cli_clear_errors": 1,
                                    "raw_errors": len(finished.raw_errors)})


SENDERS = 4
MESSAGES = 300


def _fill_outbox(session, count: int) -> None:
    """Queue `count` distinct messages to 30 members of staff."""
    from auditcycle.notifications.message import Composed, Recipient
    from auditcycle.notifications.outbox import MessageKey, enqueue

    people = [Recipient(f"S{i:03d}", f"Person {i}", f"person{i}@council.example") for i in range(30)]
    session.add_all(Staff(id=p.staff_id, name=p.name, email=p.email, role=Role.KEY_WORKER) for p in people)
    for n in range(count):
        message = Composed(template="test", subject=f"Message {n}", text=f"Body {n}", html=f"<p>Body {n}</p>")
        enqueue(session, build_context(), MessageKey("notify", MONTH, f"load-{n}", "notice"), people[n % len(people)],
                message)
    session.commit()


def test_parallel_senders_deliver_each_message_exactly_once(session, db_url: str, settings, smtp_server) -> None:
    """Four senders drain one outbox of 300 messages at once: each arrives once, none is left sending."""
    from auditcycle.notifications.gateway import deliver
    from auditcycle.storage.db import make_engine

    _fill_outbox(session, MESSAGES)
    engines = [make_engine(db_url) for _ in range(SENDERS)]  # one pool each, as separate processes would have
    claims: list[str] = []
    for engine in engines:
        event.listen(engine, "before_cursor_execute",
                     lambda _c, _cur, statement, *_: claims.append(statement) if "LIMIT" in statement else None)
    start = threading.Barrier(SENDERS)
    reports: dict[int, object] = {}

    def send(i: int) -> None:
        start.wait()
        reports[i] = deliver(engine=engines[i], settings=settings, batch_size=10)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(SENDERS)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    seconds = time.monotonic() - began
    for engine in engines:
        engine.dispose()

    rows = list(session.execute(select(OutboxMessage.message_id, OutboxMessage.status, OutboxMessage.attempts)))
    received = Counter(r.message["Message-ID"] for r in smtp_server.received)
    sent_by = [reports[i].sent for i in range(SENDERS)]
    assert len(smtp_server.received) == MESSAGES == sum(sent_by)
    assert set(received) == {m for m, _, _ in rows} and set(received.values()) == {1}
    assert {(status, attempts) for _, status, attempts in rows} == {(MessageStatus.SENT, 1)}  # none stuck SENDING
    assert len([n for n in sent_by if n]) >= 2  # the senders really shared the outbox
    claim = next(c for c in claims if "outbox_message" in c)
    if session.bind.dialect.name == "postgresql":
        assert claim.rstrip().endswith("FOR UPDATE SKIP LOCKED")
    else:
        assert "FOR UPDATE" not in claim  # SQLite: the claim's BEGIN IMMEDIATE serialises the senders instead
    FIGURES["senders"].append({"engine": session.bind.dialect.name, "senders": SENDERS, "messages": MESSAGES,
                               "received": len(smtp_server.received),
                               "duplicates": sum(received.values()) - len(received),
                               "stuck": sum(s != MessageStatus.SENT for _, s, _ in rows), "sent_by": sent_by,
                               "seconds": round(seconds, 2)})


def test_a_deep_dive_drawn_during_the_monthly_sample_takes_none_of_its_children(authority: Engine,
                                                                               app_env: str) -> None:
    """Two draws from the same team at once, of different kinds and so under different leases: no child twice."""
    from auditcycle.core.clock import Month
    from auditcycle.core.context import build_context
    from auditcycle.models import Child, Team
    from auditcycle.models.enums import CycleKind
    from auditcycle.sampling.adhoc import draw_adhoc
    from auditcycle.sampling.cycle import draw
    from auditcycle.sampling.requests import Asked, store_request
    from auditcycle.storage.db import get_engine, session_scope

    engine = get_engine()
    with sessionmaker(bind=engine)() as s:
        team, children = s.execute(select(Team.name, func.count(Child.id)).join(Child, Child.team_id == Team.id)
                                   .where(Child.key_worker_id.is_not(None)).group_by(Team.name)
                                   .order_by(func.count(Child.id).desc())).first()
    size = children // 2 - 1  # together the two draws take nearly the whole team: any overlap would show
    ctx = build_context(f"{SAMPLING_DAY}T07:00")
    with session_scope() as s:
        request = store_request(s, ctx, by=QA_MANAGER, asked=Asked(
            kind=CycleKind.DEEP_DIVE, theme="Neglect", size=size, team=team, due=date(2026, 12, 4)))

    def monthly() -> object:
        with session_scope() as s:
            return draw(s, ctx, month=Month.parse(MONTH), team=team, size=size, seed=1)

    def deep_dive() -> object:
        with session_scope() as s:
            return draw_adhoc(s, ctx, seed=2, request=request)

    outcomes = both_at_once(engine, monthly, deep_dive)

    assert [type(o).__name__ for o in outcomes] == ["DrawSummary", "AdhocSummary"], outcomes
    with sessionmaker(bind=engine)() as s:
        drawn = list(s.scalars(select(Audit.child_id)))
        cycles = s.scalar(select(func.count()).select_from(AuditCycle))
    assert cycles == 2 and len(drawn) > size
    assert [child for child, n in Counter(drawn).items() if n > 1] == []
    FIGURES["bypassed"].append({"engine": engine.dialect.name, "pairs": 1, "kind": "monthly + deep dive",
                                "children_drawn": len(drawn), "children_twice": len(drawn) - len(set(drawn))})
