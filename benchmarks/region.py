"""The region benchmark: N councils, each its own PostgreSQL database and settings, run through a Prefect
cluster (a server on PostgreSQL, the process work pool, the region's deployments, process workers), with
each council's mailbox limited to Microsoft 365's figures on the injected clock.

Run as `python -m benchmarks.region --councils 10 --children 20000 --audits 1000`; the results are
written to benchmarks/results/region-<councils>x<children>-<audits>.md and .json.

First one council alone runs its month's phases, one deployment run at a time, on one worker: its time
per phase × N is the raw limit of the region's work. Then the whole region: each phase's deployment of
every council is started at once, on two workers, and timed until all have finished. Between phases, what
people and the sender do (the list approved, the forms submitted, the outbox drained on a clock that
moves to the time the mailbox's limits next allow) is done directly against each council's database,
untimed; the drains' waits are simulated time, never slept.
"""
import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import psycopg
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text

from benchmarks.workload import MONTH, NOW, SEED_NOW, free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = Path(__file__).parent / "results"
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TEMPLATE = "bench_region_template"
PREFECT_DB = "bench_region_prefect"
MAIL_RATE = {"per_minute": 30, "per_day": 10_000}  # Microsoft 365: 30 a minute, 10,000 recipients a day
# The month's phases in order, each at its own clock (workload.py's; responses and the IR late in the month).
PHASES = [("sample", NOW["draw"]), ("notify", NOW["notify"]), ("book", NOW["book"]), ("chase", NOW["chase"]),
          ("moderate", NOW["moderate"]), ("escalate", NOW["escalate"]), ("responses", "2027-04-28T09:00"),
          ("report", NOW["report"])]
APPROVED_AT = "2027-02-22T09:30"
IR_AT = "2027-04-28T08:05:20"  # after escalate has queued its ladder: a big queue waits under the limit
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
SEED = 7


def database_url(name: str) -> str:
    """Return the URL of a database on the local server."""
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def admin(*statements: str) -> None:
    """Run statements on the server's maintenance database, outside a transaction."""
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def drop(name: str) -> None:
    """Drop a database if it exists, closing its connections."""
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class CountingHandler:
    """Accept every message, keep nothing, and count them by sender (each council's own mail_from)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        """Count the message under its envelope sender."""
        self.counts[envelope.mail_from] += 1
        return "250 Message accepted for delivery"


def seed_template(children: int) -> dict:
    """Seed one authority into the template database, migrated and marked a simulation; return its figures."""
    from auditcycle.core.context import build_context
    from auditcycle.core.settings import Settings
    from auditcycle.demo.seed import seed_authority
    from auditcycle.storage.db import make_engine, session_scope, upgrade
    from auditcycle.storage.installation import mark_simulation

    drop(TEMPLATE)
    admin(f'CREATE DATABASE "{TEMPLATE}"')
    url = database_url(TEMPLATE)
    upgrade(url)
    engine = make_engine(url)
    ctx = build_context(SEED_NOW, settings=Settings(database_url=url))
    started = time.perf_counter()
    with session_scope(engine) as session:
        mark_simulation(session)
        seeded = seed_authority(session=session, children=children, seed=SEED, now=ctx.now,
                                timescales=ctx.timescales)
    seconds = time.perf_counter() - started
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return {"seed_seconds": seconds, "staff": seeded.staff, "auditors": seeded.auditors}


def fresh_council(slug: str) -> None:
    """Make the council's database afresh, a copy of the seeded template."""
    name = f"bench_region_{slug}"
    drop(name)
    admin(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')


def write_region(folder: Path, slugs: list[str], smtp_port: int) -> Path:
    """Write region.toml and each council's own settings file (database, address, sender, mail rate)."""
    lines = [f'default = "{slugs[0]}"']
    for slug in slugs:
        lines += [f"[councils.{slug}]", f'config = "{slug}.toml"', "concurrency = 2"]
        (folder / f"{slug}.toml").write_text("\n".join([
            f'database_url = "{database_url(f"bench_region_{slug}")}"',
            f'base_url = "https://audits.{slug}.example"',
            f'mail_from = "qa@{slug}.example"',
            f'web_council_name = "Council {slug}"',
            f'web_secret_key = "{slug}-benchmark-secret-key-0123456789abcdef"',
            'smtp_host = "127.0.0.1"', f"smtp_port = {smtp_port}",
            f'outbox_dir = "{folder / "outbox" / slug}"', f'reports_dir = "{folder / "reports" / slug}"',
            "simulation = true", "[mail_rate]", *(f"{k} = {v}" for k, v in MAIL_RATE.items()), ""]))
    region = folder / "region.toml"
    region.write_text("\n".join(lines) + "\n")
    return region


class Cluster:
    """A Prefect server on PostgreSQL (its own database), the process pool, the region's deployments, workers."""

    def __init__(self, folder: Path, region: Path) -> None:
        self.folder, self.region = folder, region
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.started: list[subprocess.Popen] = []
        self.workers: list[str] = []

    def env(self, **extra: str) -> dict[str, str]:
        """Return the environment of a Prefect command or worker aimed at this server and region."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AUDITCYCLE_"))}
        return {**env, "PREFECT_HOME": str(self.folder / "prefect-home"), "PREFECT_API_URL": self.api,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING",
                "AUDITCYCLE_REGION": str(self.region), "AUDITCYCLE_SIMULATION": "1", **extra}

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        """Start a process in its own session, its output in logs/<name>.log."""
        (self.folder / "logs").mkdir(exist_ok=True)
        with (self.folder / "logs" / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.started.append(process)
        return process

    def command(self, *args: str) -> str:
        """Run a command (prefect or auditcycle) against this server from the project folder; return its output."""
        done = subprocess.run([str(BIN / args[0]), *args[1:]], env=self.env(), cwd=ROOT, capture_output=True,
                              text=True, timeout=900)
        if done.returncode:
            raise RuntimeError(f"{' '.join(args)}: {done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        return done.stdout

    def up(self) -> None:
        """Start the server, create the pool and the councils' queues, and deploy the region's deployments."""
        drop(PREFECT_DB)
        admin(f'CREATE DATABASE "{PREFECT_DB}"')
        env = self.env(PREFECT_SERVER_DATABASE_CONNECTION_URL=database_url(PREFECT_DB).replace(
            "postgresql://", "postgresql+asyncpg://"), PREFECT_UI_ENABLED="false",
            PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false")
        server = self.start("server", [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                                       "--port", str(self.port)], env)
        deadline = time.monotonic() + 300
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not start: see {self.folder / 'logs' / 'server.log'}")
            try:
                with urlopen(f"{self.api}/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except (URLError, OSError):
                time.sleep(1)
        self.command("prefect", "--no-prompt", "work-pool", "create", "auditcycle", "--type", "process")
        spec = self.folder / "prefect-region.yaml"
        self.command("auditcycle", "deployments", "--output", str(spec), "--create-queues")
        # prefect deploy reads the file's entrypoints relative to the project folder, where it runs.
        self.command("prefect", "--no-prompt", "deploy", "--all", "--prefect-file", str(spec))

    def start_worker(self, name: str) -> None:
        """Start a process worker on the pool, as an operator would, and wait until it is online."""
        env = self.env(AUDITCYCLE_HOME=str(ROOT), PREFECT_WORKER_QUERY_SECONDS="1",
                       PREFECT_WORKER_HEARTBEAT_SECONDS="10")
        process = self.start(name, [str(BIN / "prefect"), "worker", "start", "--pool", "auditcycle", "--name", name,
                                    "--type", "process", "--limit", "4"], env)
        self.workers.append(name)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with self.client() as client:
                online = {w.name for w in client.read_workers_for_work_pool("auditcycle")
                          if w.status and w.status.value == "ONLINE"}
            if name in online:
                return
            if process.poll() is not None:
                break
            time.sleep(1)
        raise RuntimeError(f"worker {name} did not come online: see {self.folder / 'logs' / (name + '.log')}")

    @contextmanager
    def client(self):
        """Yield a synchronous Prefect client on this server."""
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: self.api}), get_client(sync_client=True) as client:
            yield client

    def run_all(self, runs: list[tuple[str, dict]], timeout: float = 3600) -> tuple[float, list]:
        """Start flow runs of these deployments at once; return the wall seconds until all ended, and the runs."""
        started = time.perf_counter()
        with self.client() as client:
            ids = [client.create_flow_run_from_deployment(client.read_deployment_by_name(name).id,
                                                          parameters=parameters).id for name, parameters in runs]
            while True:
                flow_runs = [client.read_flow_run(i) for i in ids]
                if all(r.state and r.state.type.value in FINAL for r in flow_runs):
                    break
                if time.perf_counter() - started > timeout:
                    raise RuntimeError(f"runs not finished after {timeout} s")
                time.sleep(0.5)
        wall = time.perf_counter() - started
        failed = [(name, r.state.name) for (name, _), r in zip(runs, flow_runs, strict=True)
                  if r.state.type.value != "COMPLETED"]
        if failed:
            raise RuntimeError(f"flow runs did not complete: {failed}; see {self.folder / 'logs'}")
        return wall, flow_runs

    def stop(self) -> None:
        """SIGTERM each started process group, then SIGKILL what is left of it."""
        for process in reversed(self.started):
            _kill_group(process.pid, signal.SIGTERM)
        for process in reversed(self.started):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                pass
            _kill_group(process.pid, signal.SIGKILL)
            process.wait()
        self.started.clear()


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Council:
    """One council of the region as the benchmark's driver sees it: its settings, engine and QA manager."""

    def __init__(self, slug: str) -> None:
        from auditcycle.core.region import council_settings
        from auditcycle.models import Staff
        from auditcycle.models.enums import Role
        from auditcycle.storage.db import make_engine

        self.slug = slug
        self.settings = council_settings(slug)
        self.engine = make_engine(str(self.settings.database_url))
        with self.engine.connect() as conn:
            self.manager = conn.scalar(select(Staff.id).where(Staff.role == Role.QA_MANAGER).order_by(Staff.id))

    def at(self, now: str):
        """Return the council's context at a simulated time."""
        from auditcycle.core.context import build_context
        return build_context(now, settings=self.settings)

    def deployment(self, phase: str, now: str, audits: int) -> tuple[str, dict]:
        """Return the council's deployment of a phase and the parameters of its run at `now`."""
        extra = {"size": audits, "seed": SEED} if phase == "sample" else {}
        return f"{phase}/{phase}-{self.slug}", {"council": self.slug, "by": self.manager, "month": MONTH,
                                                 "now": now, **extra}

    def approve(self) -> None:
        """The QA team approves the drawn list, so the notices may go."""
        from auditcycle.core.clock import Month
        from auditcycle.notices.review import approve_list
        from auditcycle.sampling.cycle import require_monthly_cycle
        from auditcycle.storage.db import session_scope

        with session_scope(self.engine) as session:
            approve_list(session, self.at(APPROVED_AT), cycle=require_monthly_cycle(session, Month.parse(MONTH)),
                         by=self.manager)

    def submit(self) -> int:
        """Submit the month's synthetic forms, keeping one in ten back so chasing has something to chase."""
        from auditcycle.core.clock import Month
        from auditcycle.demo.replay import month_calendar, plan_month
        from auditcycle.models import Audit, Child
        from auditcycle.storage.db import session_scope
        from auditcycle.submissions.submit import submit

        with session_scope(self.engine) as session:
            references = list(session.scalars(select(Audit.reference).where(Audit.cycle.has(month=MONTH))
                                              .order_by(Audit.id)))
            auditor_of = dict(session.execute(select(Audit.reference, Audit.auditor_id)).all())
            key_worker_of = dict(session.execute(select(Audit.reference, Child.key_worker_id)
                                                 .join(Child, Child.id == Audit.child_id)).all())
        draw_ctx = self.at(NOW["draw"])
        plan = plan_month(draw_ctx, month_calendar(draw_ctx, Month.parse(MONTH)), references, seed=SEED)
        submitted = [p for i, p in enumerate(p for p in plan.audits if not p.late) if i % 10]
        with session_scope(self.engine) as session:
            for p in submitted:
                submit(session, self.at(p.submit_at.isoformat()), reference=p.reference,
                       data=p.form(key_worker_of[p.reference]), by=auditor_of[p.reference], source="benchmark")
        return len(submitted)

    def raise_ir(self) -> str:
        """Raise an Immediate Response on one of the month's audits at IR_AT; return its reference."""
        from auditcycle.immediate_responses.lifecycle import raise_ir
        from auditcycle.models import Audit
        from auditcycle.storage.db import session_scope

        with session_scope(self.engine) as session:
            audit = session.scalars(select(Audit).where(Audit.cycle.has(month=MONTH)).order_by(Audit.id)).first()
            return raise_ir(session, self.at(IR_AT), reference=audit.reference, by=audit.auditor_id,
                            reason="A safeguarding concern found late in the month (benchmark)").reference

    def ir_wait(self, reference: str) -> dict:
        """Return when the Immediate Response was raised and when its last message left, on the limiter's clock."""
        from auditcycle.models import ImmediateResponse, OutboxMessage

        with self.engine.connect() as conn:
            raised = _aware(conn.scalar(select(ImmediateResponse.raised_at)
                                        .where(ImmediateResponse.reference == reference)))
            sent = conn.scalars(select(OutboxMessage.sent_at).where(OutboxMessage.subject_ref == reference,
                                                                    OutboxMessage.step == "raised")).all()
        last = max((_aware(s) for s in sent if s), default=None)
        return {"raised": raised.isoformat(), "sent": last.isoformat() if last else None, "messages": len(sent),
                "seconds": (last - raised).total_seconds() if last else None}

    def drain(self, start: str, until: str | None) -> dict:
        """Send what is queued, the clock moving on to when the mailbox's limits next allow, until `until`.

        Return the messages sent, the simulated span and the wall seconds. What is left at `until` waits
        for the next drain, as it would for the next phase's.
        """
        from auditcycle.models import OutboxMessage
        from auditcycle.models.enums import MessageStatus
        from auditcycle.notifications.gateway import deliver

        begin, stop = self.at(start).now, (self.at(until).now if until else None)
        clock, sent, last = begin, 0, begin
        started = time.perf_counter()
        while True:
            report = deliver(engine=self.engine, settings=self.settings, clock=lambda: clock)  # noqa: B023
            sent += report.sent
            if report.sent:
                last = clock
            with self.engine.connect() as conn:
                due = conn.scalar(select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.status.in_([MessageStatus.PENDING, MessageStatus.SENDING])))
            if due is None:
                break
            due = _aware(due)
            if stop is not None and due >= stop:
                break
            # Never backwards; a step on when nothing could go, so a held message cannot stall the clock.
            clock = max(due, clock + (timedelta(0) if report.sent else timedelta(seconds=1)))
        with self.engine.connect() as conn:
            left = conn.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status.in_([MessageStatus.PENDING, MessageStatus.SENDING])))
        return {"sent": sent, "left": left, "simulated_s": (last - begin).total_seconds(),
                "wall_s": time.perf_counter() - started}


def between(councils: list[Council], phase: str, index: int, untimed: dict, ir: dict) -> None:
    """Do, directly against each council's database, what follows a phase before the next: untimed."""
    started = time.perf_counter()
    following = PHASES[index + 1][1] if index + 1 < len(PHASES) else None
    now = PHASES[index][1]
    if phase == "sample":
        for council in councils:
            council.approve()
    if phase == "escalate":
        # Drain up to the moment the IR is raised, so every minute's window is full when it comes.
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda c: c.drain(now, IR_AT), councils))
        for council in councils:
            ir[council.slug] = council.raise_ir()
        now = IR_AT
    with ThreadPoolExecutor(2) as pool:
        drains = list(pool.map(lambda c: c.drain(now, following), councils))
    untimed[f"deliver after {phase}"] = {
        "wall_s": time.perf_counter() - started, "sent": sum(d["sent"] for d in drains),
        "left": sum(d["left"] for d in drains), "simulated_s": max(d["simulated_s"] for d in drains)}
    if phase == "book":
        started = time.perf_counter()
        forms = [c.submit() for c in councils]
        untimed["submit (synthetic forms)"] = {"wall_s": time.perf_counter() - started, "forms": sum(forms)}
        started = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            drains = list(pool.map(lambda c: c.drain(NOW["book"], NOW["chase"]), councils))
        untimed["deliver after submit"] = {"wall_s": time.perf_counter() - started,
                                           "sent": sum(d["sent"] for d in drains),
                                           "left": sum(d["left"] for d in drains),
                                           "simulated_s": max(d["simulated_s"] for d in drains)}


def _seconds(flow_run) -> float:
    return (flow_run.end_time - flow_run.start_time).total_seconds()


def month(cluster: Cluster, councils: list[Council], audits: int) -> dict:
    """Run the month's phases, each phase's deployment of every council started at once; return the figures."""
    phases, untimed, ir = [], {}, {}
    for index, (phase, now) in enumerate(PHASES):
        wall, runs = cluster.run_all([c.deployment(phase, now, audits) for c in councils])
        phases.append({"phase": phase, "wall_s": wall,
                       "runs": {c.slug: {"seconds": _seconds(r), "start": r.start_time.isoformat(),
                                         "end": r.end_time.isoformat()} for c, r in zip(councils, runs, strict=True)}})
        print(f"  {phase}: {wall:.1f} s", flush=True)
        between(councils, phase, index, untimed, ir)
    return {"phases": phases, "untimed": untimed,
            "immediate_response": {slug: councils[i].ir_wait(ref) for i, (slug, ref) in enumerate(ir.items())}}


def run(councils: int, children: int, audits: int) -> dict:
    """Run the region benchmark and return its measurements."""
    folder = Path(tempfile.mkdtemp(prefix="auditcycle-region-"))
    slugs = [f"c{n:02d}" for n in range(1, councils + 1)]
    handler = CountingHandler()
    smtp = Controller(handler, hostname="127.0.0.1", port=free_port())
    smtp.start()
    region = write_region(folder, slugs, smtp.port)
    for name in [k for k in os.environ if k.startswith("AUDITCYCLE_")]:
        del os.environ[name]
    os.environ.update({"AUDITCYCLE_REGION": str(region), "AUDITCYCLE_SIMULATION": "1"})
    cluster = Cluster(folder, region)
    made: list[Council] = []
    try:
        started = time.perf_counter()
        seeded = seed_template(children)
        for slug in slugs:
            fresh_council(slug)
        print(f"seeded {councils} councils in {time.perf_counter() - started:.1f} s", flush=True)
        cluster.up()
        cluster.start_worker("worker-1")
        print("cluster up; one council alone on one worker", flush=True)
        solo = Council(slugs[0])
        made.append(solo)
        alone = month(cluster, [solo], audits)
        alone_mail = handler.counts[f"qa@{slugs[0]}.example"]
        solo.engine.dispose()
        made.clear()
        handler.counts.clear()
        fresh_council(slugs[0])
        cluster.start_worker("worker-2")
        print(f"the region: {councils} councils on two workers", flush=True)
        made += [Council(slug) for slug in slugs]
        whole = month(cluster, made, audits)
        mail = {slug: handler.counts[f"qa@{slug}.example"] for slug in slugs}
    finally:
        cluster.stop()
        smtp.stop()
        for council in made:
            council.engine.dispose()
        for name in [*(f"bench_region_{s}" for s in slugs), TEMPLATE, PREFECT_DB]:
            drop(name)
    return {"councils": councils, "children": children, "audits": audits, "mail_rate": MAIL_RATE, **seeded,
            "alone": alone, "alone_mail": alone_mail, "region": whole, "mail": mail}


def tables(r: dict) -> str:
    """Return the measurements as Markdown."""
    n, audits = r["councils"], r["audits"]
    lines = [f"### {n} councils of {r['children']:,} children and {audits:,} audits each, on PostgreSQL", "",
             f"Each council: its own database (a copy of one seeded authority: {r['staff']:,} staff, "
             f"{r['auditors']} auditors; seeding took {r['seed_seconds']:.1f} s, not counted), its own settings "
             f"and mailbox limited to {r['mail_rate']['per_minute']} a minute and "
             f"{r['mail_rate']['per_day']:,} a day. Phases are Prefect deployment runs on process workers.", "",
             f"| phase | one council, 1 worker (s) | × {n}: raw limit (s) | region, 2 workers (s) | region / raw limit |",
             "|---|---:|---:|---:|---:|"]
    total_alone = total_region = 0.0
    for alone, whole in zip(r["alone"]["phases"], r["region"]["phases"], strict=True):
        total_alone += alone["wall_s"]
        total_region += whole["wall_s"]
        lines.append(f"| {whole['phase']} | {alone['wall_s']:.1f} | {alone['wall_s'] * n:.1f} | "
                     f"{whole['wall_s']:.1f} | {whole['wall_s'] / (alone['wall_s'] * n):.2f}× |")
    lines += [f"| **month** | {total_alone:.1f} | {total_alone * n:.1f} | {total_region:.1f} | "
              f"{total_region / (total_alone * n):.2f}× |", ""]
    shares = {slug: sum(p["runs"][slug]["seconds"] for p in r["region"]["phases"]) for slug in r["mail"]}
    everything = sum(shares.values()) or 1
    lines += ["| council | flow-run s (sum) | share of region time | messages sent | messages / audit | "
              "last IR: raised → sent (simulated s) |", "|---|---:|---:|---:|---:|---:|"]
    for slug, seconds in shares.items():
        wait = r["region"]["immediate_response"].get(slug, {})
        shown = f"{wait['seconds']:.0f}" if wait.get("seconds") is not None else "not sent"
        lines.append(f"| {slug} | {seconds:.1f} | {seconds / everything:.1%} (fair {1 / n:.1%}) | "
                     f"{r['mail'][slug]:,} | {r['mail'][slug] / audits:.2f} | {shown} |")
    solo_ir = next(iter(r["alone"]["immediate_response"].values()), {})
    lines += ["", f"One council alone: {r['alone_mail']:,} messages ({r['alone_mail'] / audits:.2f} an audit); "
              f"its IR raised → sent {solo_ir.get('seconds')} simulated s.", "",
              "Untimed between phases (region), directly against each council's database; a drain's clock moves "
              "to when the mailbox's limits next allow, up to the next phase's time:", "",
              "| step | wall s | sent | left for later | simulated span (longest council) |", "|---|---:|---:|---:|---:|"]
    for step, figures in r["region"]["untimed"].items():
        span = figures.get("simulated_s")
        lines.append(f"| {step} | {figures['wall_s']:.1f} | {figures.get('sent', figures.get('forms', ''))} | "
                     f"{figures.get('left', '')} | {'' if span is None else timedelta(seconds=round(span))} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the region benchmark and write its results as Markdown and JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--councils", type=int, default=10)
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--audits", type=int, default=1000)
    args = parser.parse_args()
    started = time.perf_counter()
    result = run(args.councils, args.children, args.audits)
    result["seconds"] = time.perf_counter() - started
    stem = RESULTS / f"region-{args.councils}x{args.children}-{args.audits}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str))
    head = (f"# auditcycle region benchmark\n\n{datetime.now():%Y-%m-%d %H:%M} on {platform.node()} "
            f"({platform.machine()}, Python {platform.python_version()}); `python -m benchmarks.region "
            f"--councils {args.councils} --children {args.children} --audits {args.audits}` "
            f"({result['seconds'] / 60:.1f} min in all)\n\n")
    stem.with_suffix(".md").write_text(head + tables(result))
    print(tables(result))


if __name__ == "__main__":
    main()
