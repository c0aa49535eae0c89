"""One run of each phase at a time, whoever starts it: a lease row per phase, with an expiry.

A served or scheduled run and a run from the command line may start the same phase at once; the lease
makes one of them wait or refuse. A run that is killed cannot release its lease, so every lease expires
(30 minutes by default) and a live run renews its own in the background. The holder's name also records
its host and process id, so a new run on the same host takes over at once from a holder that has died
rather than waiting for the expiry, and puts the mail that holder had claimed for sending back in the
queue, to be sent in the new run. A Prefect flow run started again after a crash takes over at once
from its own earlier attempt, on any host.

The times here are real wall-clock times, never the `--now` decision clock: a lease is about processes
that are running now, not about the month being replayed.
"""
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from auditcycle.core.clock import wall_clock
from auditcycle.core.errors import UserError
from auditcycle.core.settings import get_settings
from auditcycle.models import PhaseLease
from auditcycle.notifications.outbox import release_claims
from auditcycle.storage.db import get_engine, session_scope

DEFAULT_TTL = timedelta(minutes=30)
POLL_SECONDS = 0.5
TABLE = PhaseLease.__table__
log = logging.getLogger(__name__)


class PhaseBusy(UserError):
    """Another run holds the phase's lease."""


def lease_ttl() -> timedelta:
    """Return how long a lease lasts unless renewed: the lease_ttl_minutes setting."""
    return timedelta(minutes=get_settings().lease_ttl_minutes)


def lease_wait() -> float:
    """Return how many seconds a run waits for a busy phase: the lease_wait_seconds setting."""
    return get_settings().lease_wait_seconds


def this_host() -> str:
    """Name this machine: host name and boot, so a process id is only ever compared on its own kernel."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        boot = "-"
    return f"{socket.gethostname()[:40]}/{boot}"


def holder_name(flow_run_id: str | None, pid: int | None = None) -> str:
    """Name a lease holder: the Prefect flow run id, or cli-<pid> outside Prefect, @host:pid."""
    pid = os.getpid() if pid is None else pid
    return f"{flow_run_id or f'cli-{pid}'}@{this_host()}:{pid}"


def abandoned(holder: str) -> bool:
    """Say whether a holder is a process on this host that no longer exists."""
    _, at, where = holder.rpartition("@")
    host, _, pid_text = where.rpartition(":")
    if not at or host != this_host() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists but belongs to someone else
        return False
    return False


def earlier_attempt(stale: str, holder: str) -> bool:
    """Say whether a holder is an earlier attempt of our own Prefect flow run, on any host.

    Prefect starts a flow run again only once it has given up its earlier attempt (the cluster's automation
    restarts runs that are Crashed, see auditcycle.runs.cluster), so that attempt's lease is ours to take
    at once, even from another machine whose processes we cannot see.
    """
    run, at, _ = stale.rpartition("@")
    ours, our_at, _ = holder.rpartition("@")
    return bool(at and our_at and run == ours and stale != holder and not run.startswith(("cli-", "web-")))


def current(phase: str, *, engine: Engine | None = None) -> PhaseLease | None:
    """Return the phase's lease row, live or expired, or None when nobody has taken it."""
    with session_scope(engine) as session:
        return session.scalar(select(PhaseLease).where(PhaseLease.phase == phase))


def _insert(engine: Engine):
    return (postgresql if engine.dialect.name == "postgresql" else sqlite).insert(TABLE)


def acquire(phase: str, holder: str, ttl: timedelta = DEFAULT_TTL, *, engine: Engine | None = None,
            now: datetime | None = None) -> bool:
    """Take a phase's lease if it is free, expired or already ours; say whether we hold it now."""
    engine = engine or get_engine()
    at = now or wall_clock()
    values = {"phase": phase, "holder": holder, "acquired_at": at, "expires_at": at + ttl}
    with session_scope(engine) as session:
        # Both statements decide under a lock: SQLite's transaction begins IMMEDIATE, and on PostgreSQL
        # the insert waits on a concurrent insert of the same key while the update re-checks its WHERE
        # against the row a concurrent taker has just committed.
        inserted = session.execute(_insert(engine).values(**values).on_conflict_do_nothing(
            index_elements=[TABLE.c.phase])).rowcount
        if inserted == 1:
            return True
        taken = session.execute(update(TABLE).where(
            TABLE.c.phase == phase, or_(TABLE.c.expires_at <= at, TABLE.c.holder == holder)).values(**values))
        if taken.rowcount == 1:
            return True
        stale = session.scalar(select(TABLE.c.holder).where(TABLE.c.phase == phase))
        if stale is None or not (abandoned(stale) or earlier_attempt(stale, holder)):
            return False
        # Only if the dead holder is still the one recorded, so two takers cannot both win.
        taken = session.execute(update(TABLE).where(TABLE.c.phase == phase, TABLE.c.holder == stale)
                                .values(**values))
        if taken.rowcount == 1:
            # The dead run's claimed mail would otherwise wait out its claim (send_claim_seconds) unsent.
            released = release_claims(session, stale)
            log.warning("took over the %s lease from %s, whose process has died or was crashed; %d message(s) "
                        "it had claimed are queued again", phase, stale, released)
        return taken.rowcount == 1


def renew(phase: str, holder: str, ttl: timedelta = DEFAULT_TTL, *, engine: Engine | None = None,
          now: datetime | None = None) -> bool:
    """Extend our lease from now; say False if it has lapsed and someone else has taken it."""
    at = now or wall_clock()
    with session_scope(engine) as session:
        result = session.execute(update(TABLE).where(TABLE.c.phase == phase, TABLE.c.holder == holder)
                                 .values(expires_at=at + ttl))
        return result.rowcount == 1


def release(phase: str, holder: str, *, engine: Engine | None = None) -> bool:
    """Give up our lease on a phase; say whether we still held it."""
    with session_scope(engine) as session:
        result = session.execute(delete(TABLE).where(TABLE.c.phase == phase, TABLE.c.holder == holder))
        return result.rowcount == 1


def busy_message(phase: str, lease: PhaseLease | None, tz: ZoneInfo) -> str:
    """Say who holds a phase and since when, and what to do about it."""
    if lease is None:
        return f"the {phase} phase was busy a moment ago; try again"
    since = lease.acquired_at.astimezone(tz)
    when = f"{since:%H:%M:%S}" if since.date() == wall_clock().astimezone(tz).date() else f"{since:%d %b %Y %H:%M:%S}"
    name, at, where = lease.holder.rpartition("@")
    name = name if at else where
    # A command's run (cli-<pid>), a run beside the web application (web-REQ-17), else a Prefect flow run.
    who = name if name.startswith(("cli-", "web-")) else f"flow run {name}"
    if at:
        host, _, pid = where.rpartition(":")
        who += f", process {pid} on {host.split('/')[0]}"
    return f"the {phase} phase is already running (since {when}, held by {who}); try again when it finishes"


def wait_for(phase: str, holder: str, *, ttl: timedelta, wait: float, engine: Engine | None = None) -> bool:
    """Try to take a phase's lease, retrying for up to `wait` seconds; say whether we got it."""
    deadline = time.monotonic() + wait
    while not acquire(phase, holder, ttl, engine=engine):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(POLL_SECONDS, remaining))
    return True


class _Renewer(threading.Thread):
    """Renew a held lease every third of its lifetime until told to stop."""

    def __init__(self, phase: str, holder: str, ttl: timedelta, engine: Engine | None) -> None:
        super().__init__(name=f"lease-{phase}", daemon=True)
        self.phase, self.holder, self.ttl, self.engine = phase, holder, ttl, engine
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.ttl.total_seconds() / 3):
            try:
                if not renew(self.phase, self.holder, self.ttl, engine=self.engine):
                    log.warning("the %s lease held by %s lapsed and was taken over", self.phase, self.holder)
                    return
            except Exception:  # a database hiccup: the lease still has two thirds of its life to retry in
                log.exception("could not renew the %s lease", self.phase)


@contextmanager
def held(phase: str, holder: str, *, tz: ZoneInfo, ttl: timedelta | None = None, wait: float | None = None,
         engine: Engine | None = None) -> Iterator[None]:
    """Hold a phase's lease for a block: wait for it, renew it while the block runs, release it after.

    Raise PhaseBusy, naming the holder, if another run still holds it after waiting.
    """
    ttl = lease_ttl() if ttl is None else ttl
    wait = lease_wait() if wait is None else wait
    if not wait_for(phase, holder, ttl=ttl, wait=wait, engine=engine):
        raise PhaseBusy(busy_message(phase, current(phase, engine=engine), tz))
    renewer = _Renewer(phase, holder, ttl, engine)
    renewer.start()
    try:
        yield
    finally:
        renewer.stopped.set()
        renewer.join()
        release(phase, holder, engine=engine)
