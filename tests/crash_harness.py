"""Kill a real phase with SIGKILL, at a named fault point or a random moment, resume it, and count the damage.

The phase runs as the worktree's own `auditcycle` command in a separate process, against a real database
and the test's real SMTP server. After each kill the harness re-runs the same phase, then compares the
database and the mail received with an un-killed reference run of the same starting state.
"""
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from dataclasses import asdict, dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import Engine, func, select, text

from auditcycle.core import faults
from auditcycle.models import Audit, Base, Meeting, OutboxMessage, PhaseLease, PhaseRun
from auditcycle.models.enums import MessageStatus, PhaseRunStatus

AUDITCYCLE = str(Path(sys.executable).parent / "auditcycle")
RANDOM = "random"
SEND_CLAIM_SECONDS = 1.0


@dataclass
class State:
    """What the database holds and the server has received, keyed so that two runs can be compared."""

    rows: set[tuple]
    statuses: dict[str, str]
    message_ids: dict[str, str]
    received: list[tuple[str, str]]  # (idempotency key, Message-ID) for each message the server accepted
    leases: int
    runs: list[tuple[str, str | None, str | None]]  # (status, error, flow run id) of each phase run, in order


@dataclass
class Kill:
    """One kill and its resume, and what they lost or doubled."""

    point: str
    hit: int | None = None
    delay: float | None = None
    from_work: bool = False  # the delay counts from the phase run's record, not the process's start
    killed: bool = True
    landed: str = ""
    rows_lost: int = 0
    rows_extra: int = 0
    messages_lost: int = 0
    duplicates: int = 0
    duplicates_in_window: int = 0
    duplicates_same_message_id: int = 0
    leases_left: int = 0
    runs_left_running: int = 0
    runs_closed_as_abandoned: int = 0
    abandoned_flow_runs: list[str] = field(default_factory=list)
    resume_exit: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Say whether nothing was lost and every duplicate is the tolerated, collapsible kind."""
        bad_duplicates = self.duplicates - min(self.duplicates_in_window, self.duplicates_same_message_id)
        return not (self.rows_lost or self.rows_extra or self.messages_lost or bad_duplicates
                    or self.leases_left or self.runs_left_running or self.resume_exit or self.problems)


def message_id_of(data: bytes) -> str:
    """Return the Message-ID of raw received mail."""
    return str(message_from_bytes(data, policy=policy.default)["Message-ID"])


class Database:
    """The phase's database, put back to one saved starting state before every run."""

    def __init__(self, url: str, engine: Engine, workdir: Path) -> None:
        self.url, self.engine = url, engine
        self.sqlite_path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite") else None
        self.saved: Path | dict | None = None
        self.workdir = workdir

    def save(self) -> None:
        """Remember the current contents as the starting state."""
        if self.sqlite_path:
            self.engine.dispose()
            with closing(sqlite3.connect(self.sqlite_path, isolation_level=None)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.saved = self.workdir / "start.db"
            shutil.copy(self.sqlite_path, self.saved)
            return
        with self.engine.connect() as conn:
            self.saved = {t.name: [dict(r._mapping) for r in conn.execute(t.select())]
                          for t in Base.metadata.sorted_tables}

    def restore(self) -> None:
        """Put the starting state back."""
        self.engine.dispose()
        if self.sqlite_path:
            for suffix in ("-wal", "-shm"):
                Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)
            shutil.copy(self.saved, self.sqlite_path)
            return
        tables = Base.metadata.sorted_tables
        with self.engine.begin() as conn:
            # Rows go back in table order; self-references within a table are not checked on the way in.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(f"TRUNCATE {', '.join(f'{chr(34)}{t.name}{chr(34)}' for t in tables)} "
                              "RESTART IDENTITY CASCADE"))
            for table in tables:
                if self.saved[table.name]:
                    conn.execute(table.insert(), self.saved[table.name])
            for table in tables:
                if "id" in table.c and table.c.id.autoincrement is not False and table.c.id.type.python_type is int:
                    conn.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM \"{table.name}\"), 0) + 1, false)"))

    def state(self, received: list) -> State:
        """Read the rows a phase writes, and match the mail received to its outbox rows."""
        with self.engine.connect() as conn:
            audits = {("audit", r.reference, str(r.status)) for r in conn.execute(
                select(Audit.reference, Audit.status))}
            meetings = {("meeting", r.reference, str(r.status)) for r in conn.execute(
                select(Meeting.reference, Meeting.status))}
            outbox = list(conn.execute(select(OutboxMessage.idempotency_key, OutboxMessage.status,
                                              OutboxMessage.message_id)))
            leases = len(list(conn.execute(select(PhaseLease.phase))))
            runs = [(str(r.status), r.error, r.flow_run_id) for r in conn.execute(
                select(PhaseRun.status, PhaseRun.error, PhaseRun.flow_run_id).order_by(PhaseRun.id))]
        keys_by_message_id = {r.message_id: r.idempotency_key for r in outbox}
        return State(
            rows=audits | meetings | {("outbox", r.idempotency_key) for r in outbox},
            statuses={r.idempotency_key: str(r.status) for r in outbox},
            message_ids={r.idempotency_key: r.message_id for r in outbox},
            received=[(keys_by_message_id.get(mid, f"unknown {mid}"), mid)
                      for mid in (message_id_of(r.data) for r in received)],
            leases=leases,
            runs=runs,
        )


class CrashHarness:
    """Run, kill and resume one phase command against a database and an SMTP server."""

    def __init__(self, *, database: Database, smtp_server, workdir: Path, prefect_api_url: str,
                 command: list[str]) -> None:
        self.db, self.smtp, self.workdir, self.command = database, smtp_server, workdir, command
        self.env = {**os.environ, "PREFECT_API_URL": prefect_api_url,
                    "AUDITCYCLE_DATABASE_URL": database.url,
                    "AUDITCYCLE_SMTP_HOST": "127.0.0.1", "AUDITCYCLE_SMTP_PORT": str(smtp_server.port),
                    "AUDITCYCLE_OUTBOX_DIR": str(workdir / "outbox"),
                    "AUDITCYCLE_REPORTS_DIR": str(workdir / "reports"),
                    # A killed sender's batch becomes due again after this, rather than ten minutes.
                    "AUDITCYCLE_SEND_CLAIM_SECONDS": str(SEND_CLAIM_SECONDS)}
        for name in (faults.POINT_ENV, faults.HIT_ENV, faults.MARKER_ENV, "AUDITCYCLE_CONFIG",
                     "AUDITCYCLE_LEASE_TTL_MINUTES", "AUDITCYCLE_LEASE_WAIT_SECONDS"):
            self.env.pop(name, None)
        self.logs: list[Path] = []
        self.reference: State | None = None
        self.start: State | None = None
        self.expected: set[str] = set()  # the keys of the messages the phase itself sends
        self.reference_seconds = 0.0
        self.delivery_window = (0.0, 0.0)
        self.work_window = (0.0, 0.0)  # from the phase run's record to its recorded end

    def _start(self, extra: dict[str, str] | None = None, *, args: list[str] | None = None) -> subprocess.Popen:
        log = self.workdir / f"run-{len(self.logs):03d}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            # A session of its own, so the kill takes the whole process group.
            return subprocess.Popen([AUDITCYCLE, *(args or self.command)], env={**self.env, **(extra or {})},
                                    cwd=self.workdir, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def run(self, args: list[str] | None = None, timeout: float = 300) -> int:
        """Run a command to the end; return its exit code."""
        process = self._start(args=args)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return -9

    def log_tail(self, chars: int = 3000) -> str:
        """Return the end of the last command's output."""
        return self.logs[-1].read_text(errors="replace")[-chars:] if self.logs else ""

    def take_reference(self) -> State:
        """Run the phase once, unharmed, from the starting state; note when its mail went out."""
        self.db.restore()
        self.start = self.db.state([])
        already = set(self.start.statuses)
        self.smtp.received.clear()
        runs_before, ended_before = self._phase_runs()
        started = time.monotonic()
        process = self._start()
        first_mail = work_started = work_ended = None
        while process.poll() is None:
            now = time.monotonic() - started
            if self.smtp.received and first_mail is None:
                first_mail = now
            runs, ended = self._phase_runs()
            if work_started is None and runs > runs_before:
                work_started = now
            if work_ended is None and ended > ended_before:
                work_ended = now
            time.sleep(0.005)
        self.reference_seconds = time.monotonic() - started
        if process.returncode != 0:
            raise RuntimeError(f"the reference run failed:\n{self.log_tail()}")
        self.delivery_window = (first_mail or 0.0, self.reference_seconds)
        self.work_window = (work_started or 0.0, work_ended or self.reference_seconds)
        self.reference = self.db.state(self.smtp.received)
        self.expected = set(self.reference.statuses) - already
        return self.reference

    def _phase_runs(self) -> tuple[int, int]:
        """Count the phase runs recorded, and those that have recorded their end."""
        with self.db.engine.connect() as conn:
            row = conn.execute(select(func.count(), func.count().filter(PhaseRun.status != PhaseRunStatus.RUNNING))
                               .select_from(PhaseRun)).one()
            return row[0], row[1]

    def kill_and_resume(self, point: str, *, hit: int | None = None, delay: float | None = None,
                        from_work: bool = False, timeout: float = 120) -> Kill:
        """Kill the phase at a fault point (or `delay` seconds after its start, or after its run record
        appears if `from_work`), resume it, and count the damage."""
        assert self.reference is not None, "take the reference run first"
        started = time.monotonic()
        self.db.restore()
        self.smtp.received.clear()
        kill = Kill(point=point, hit=hit, delay=delay, from_work=from_work)
        runs_before = self._phase_runs()[0]
        marker = self.workdir / "fault-reached"
        marker.unlink(missing_ok=True)
        extra = {} if point == RANDOM else {faults.POINT_ENV: point, faults.HIT_ENV: str(hit or 1),
                                           faults.MARKER_ENV: str(marker)}
        process = self._start(extra)
        if point == RANDOM:
            deadline = time.monotonic() + timeout
            # Process start-up varies by a second or more; counting from the run record lands the kill in the work.
            while from_work and self._phase_runs()[0] == runs_before and process.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(delay or 0.0)
        else:
            deadline = time.monotonic() + timeout
            while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            if not marker.exists():
                kill.problems.append(f"the run never reached {point} (exit {process.poll()}):\n{self.log_tail()}")
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            kill.killed = False
        process.wait()
        at_kill = self.db.state(self.smtp.received)
        kill.landed = self._landed(at_kill, kill.killed)
        # Messages the server had accepted while their rows were not yet marked sent: the 250 → mark-sent window.
        window = {key for key, _ in at_kill.received if at_kill.statuses.get(key) != str(MessageStatus.SENT)}
        time.sleep(SEND_CLAIM_SECONDS)
        kill.resume_exit = self.run()
        if kill.resume_exit != 0:
            kill.problems.append(f"the resumed run failed (exit {kill.resume_exit}):\n{self.log_tail()}")
        self._count(kill, self.db.state(self.smtp.received), window)
        kill.seconds = time.monotonic() - started
        return kill

    def _landed(self, state: State, killed: bool) -> str:
        """Say where in the phase a kill landed, from what it left behind."""
        if not killed:
            return "after the run finished"
        written = state.rows - self.start.rows
        queued = [key for key in state.statuses if key in self.expected]
        sent = [key for key in queued if state.statuses[key] == str(MessageStatus.SENT)]
        if not written:
            return "before the commit"
        if written < self.reference.rows - self.start.rows:
            return "between the phase's commits"
        if not self.expected:
            return "after the last commit"
        if not any(key in self.expected for key, _ in state.received):
            return "after the commit, before any mail"
        if len(sent) < len(self.expected):
            return "while sending"
        return "after the last mail"

    def _count(self, kill: Kill, after: State, window: set[str]) -> None:
        reference = self.reference
        kill.rows_lost = len(reference.rows - after.rows)
        kill.rows_extra = len(after.rows - reference.rows)
        kill.leases_left = after.leases
        kill.runs_left_running = sum(1 for status, _, _ in after.runs if status == str(PhaseRunStatus.RUNNING))
        abandoned = [(status, flow_run) for status, error, flow_run in after.runs
                     if (error or "").startswith("abandoned:")]
        kill.runs_closed_as_abandoned = len(abandoned)
        kill.abandoned_flow_runs = [flow_run for _, flow_run in abandoned if flow_run]
        received = Counter(key for key, _ in after.received)
        never_received = {key for key in self.expected if received[key] == 0}
        not_sent = {key for key, status in after.statuses.items() if status != str(MessageStatus.SENT)}
        kill.messages_lost = len(never_received | not_sent)
        doubled = [key for key, n in received.items() if n > 1]
        kill.duplicates = sum(received[key] - 1 for key in doubled)
        for key in doubled:
            copies = {mid for k, mid in after.received if k == key}
            in_window = key in window
            kill.duplicates_in_window += (received[key] - 1) * in_window
            kill.duplicates_same_message_id += (received[key] - 1) * (copies == {after.message_ids.get(key)})
            if not in_window:
                kill.problems.append(f"{key} was received {received[key]} times outside the 250 → mark-sent window")


def summarise(kills: list[Kill], *, backend: str, seconds: float, reference_seconds: float,
              reference_messages: int) -> dict:
    """Return the sweep's figures: runs, kills per point, losses and duplicates, time taken."""
    return {
        "backend": backend,
        "runs": len(kills),
        "kills_per_point": dict(Counter(k.point for k in kills)),
        "random_kills_landed": dict(Counter(k.landed for k in kills if k.point == RANDOM)),
        "rows_lost": sum(k.rows_lost for k in kills),
        "rows_extra": sum(k.rows_extra for k in kills),
        "messages_lost": sum(k.messages_lost for k in kills),
        "duplicates": sum(k.duplicates for k in kills),
        "duplicates_in_250_to_mark_sent_window": sum(k.duplicates_in_window for k in kills),
        "duplicates_with_same_message_id": sum(k.duplicates_same_message_id for k in kills),
        "duplicates_by_point": dict(sum((Counter({k.point: k.duplicates}) for k in kills), Counter())),
        "leases_left_held": sum(k.leases_left for k in kills),
        "phase_runs_left_running": sum(k.runs_left_running for k in kills),
        "phase_runs_closed_as_abandoned": sum(k.runs_closed_as_abandoned for k in kills),
        "failed_resumes": sum(1 for k in kills if k.resume_exit),
        "clean_runs": sum(1 for k in kills if k.clean),
        "reference_messages": reference_messages,
        "reference_run_seconds": round(reference_seconds, 2),
        "seconds": round(seconds, 1),
        "kills": [{**asdict(k), "seconds": round(k.seconds, 2)} for k in kills],
    }


def random_delays(count: int, *, seed: int, whole_run: float, window: tuple[float, float]) -> list[float]:
    """Draw kill delays: half uniform over the whole run, half over the window given (when the phase works)."""
    rng = random.Random(seed)
    start, end = window
    return [rng.uniform(0, whole_run) if i % 2 == 0 else rng.uniform(max(0.0, start - 0.5), end)
            for i in range(count)]
