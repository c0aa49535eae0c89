"""A real cluster: a Prefect server on PostgreSQL (its own database), the process work pool, prefect.yaml
deployed, and process workers started as an operator starts them, each in its own process group.

The server runs once per test module; each test starts the workers it needs, with the test database's
settings, and every process started here is killed, and the server's database dropped, at teardown.
"""
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlsplit, urlunsplit
from urllib.request import urlopen

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SERVER_STARTUP_SECONDS = 240  # two shared cores: a first start migrates Prefect's database
WORKER_STARTUP_SECONDS = 120
HEARTBEAT_SECONDS = 30  # Prefect's least heartbeat interval
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def free_port() -> int:
    """Return a free high TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def admin_url() -> str:
    """Return the PostgreSQL server to make the Prefect database on: the test server's, else the local one."""
    parts = urlsplit(os.environ.get("AUDITCYCLE_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/postgres")
    return urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))


@dataclass
class Processes:
    """Processes started for a test, each the leader of its own process group, stopped together."""

    logs: Path
    started: list[subprocess.Popen] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.Popen:
        """Start a process in its own session, its output in logs/<name>.log."""
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        """SIGTERM each process group, then SIGKILL what is left of it."""
        for process in reversed(self.started):
            kill_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in reversed(self.started):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            kill_group(process.pid, signal.SIGKILL)
            process.wait()
        self.started.clear()


def descendants(pid: int) -> list[int]:
    """Return the ids of a process's descendants, read from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def kill_group(pgid: int, sig: signal.Signals) -> None:
    """Send a signal to a process group, if it still exists."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Cluster:
    """A running Prefect server with the auditcycle pool and deployments, and the means to start workers."""

    api: str
    home: Path
    processes: Processes
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    def env(self, **extra: str) -> dict[str, str]:
        """Return the environment of a Prefect command or worker aimed at this server."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
        return {**env, "PREFECT_HOME": str(self.home), "PREFECT_API_URL": self.api,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "INFO", **extra}

    def prefect(self, *args: str) -> str:
        """Run a `prefect` command against this server from the project folder; return its output."""
        result = subprocess.run([str(BIN / "prefect"), "--no-prompt", *args], env=self.env(), cwd=ROOT,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"prefect {' '.join(args)}: {result.stdout}\n{result.stderr}"
        return result.stdout

    def start_worker(self, name: str, **extra: str) -> subprocess.Popen:
        """Start a process worker on the pool with the test database's settings, as an operator would."""
        env = self.env(AUDITCYCLE_HOME=str(ROOT), PREFECT_FLOWS_HEARTBEAT_FREQUENCY=str(HEARTBEAT_SECONDS),
                       PREFECT_WORKER_QUERY_SECONDS="2", PREFECT_WORKER_HEARTBEAT_SECONDS="10", **extra)
        process = self.processes.start(name, [str(BIN / "prefect"), "worker", "start", "--pool", "auditcycle",
                                              "--name", name, "--type", "process"], env)
        self.workers[name] = process
        deadline = time.monotonic() + WORKER_STARTUP_SECONDS
        while time.monotonic() < deadline:
            with self.client() as client:
                online = {w.name for w in client.read_workers_for_work_pool("auditcycle")
                          if w.status and w.status.value == "ONLINE"}
            if name in online:
                return process
            assert process.poll() is None, f"worker {name} exited: {self.log(name)}"
            time.sleep(1)
        raise AssertionError(f"worker {name} not online after {WORKER_STARTUP_SECONDS} s: {self.log(name)}")

    def log(self, name: str) -> str:
        """Return the tail of a started process's log."""
        path = self.processes.logs / f"{name}.log"
        return path.read_text("utf-8", "replace")[-4000:] if path.exists() else ""

    @contextmanager
    def client(self):
        """Yield a synchronous Prefect client on this server."""
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: self.api}), get_client(sync_client=True) as client:
            yield client

    def run_deployment(self, name: str, **parameters) -> str:
        """Create a flow run of a deployment (name, as `notify/notify`) with these parameters; return its id."""
        with self.client() as client:
            deployment = client.read_deployment_by_name(name)
            return str(client.create_flow_run_from_deployment(deployment.id, parameters=parameters).id)

    def wait_final(self, flow_run_id: str, timeout: float = 300):
        """Wait for a flow run to reach a final state; return the flow run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.client() as client:
                run = client.read_flow_run(flow_run_id)
            if run.state and run.state.type.value in FINAL:
                return run
            time.sleep(1)
        raise AssertionError(f"flow run {flow_run_id} not finished after {timeout} s: {run.state}\n"
                             + "\n".join(f"--- {n}\n{self.log(n)}" for n in self.workers))

    def states(self, flow_run_id: str) -> list[str]:
        """Return the names of a flow run's states, oldest first."""
        with self.client() as client:
            return [s.name for s in sorted(client.read_flow_run_states(flow_run_id), key=lambda s: s.timestamp)]

    def kill_worker(self, name: str) -> None:
        """SIGKILL a worker's process group and the flow runs it started, as if its machine had died."""
        process = self.workers.pop(name)
        runs = descendants(process.pid)  # a flow run may lead a process group of its own
        kill_group(process.pid, signal.SIGKILL)
        for pid in runs:
            try:
                kill_group(os.getpgid(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()

    def stop_workers(self) -> None:
        """Kill every worker started for the test, and their flow runs."""
        for name in list(self.workers):
            self.kill_worker(name)


def _create_database(name: str) -> None:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop_database(name: str) -> None:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_healthy(api: str, server: subprocess.Popen, logs: Path) -> None:
    deadline = time.monotonic() + SERVER_STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the Prefect server exited: {(logs / 'server.log').read_text()[-4000:]}"
        try:
            with urlopen(f"{api}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (URLError, OSError):
            pass
        time.sleep(1)
    raise AssertionError(f"the Prefect server did not answer in {SERVER_STARTUP_SECONDS} s")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A Prefect server on PostgreSQL with the auditcycle process pool and prefect.yaml deployed."""
    try:
        psycopg.connect(admin_url(), connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"the cluster test needs PostgreSQL for Prefect's database ({admin_url()}): {exc}")
    database = f"auditcycle_cluster_{os.getpid()}_{secrets.token_hex(3)}"
    folder = tmp_path_factory.mktemp("cluster")
    processes = Processes(folder / "logs")
    port = free_port()
    cluster = Cluster(api=f"http://127.0.0.1:{port}/api", home=folder / "prefect-home", processes=processes)
    _create_database(database)
    try:
        server_url = urlsplit(admin_url())._replace(scheme="postgresql+asyncpg", path=f"/{database}")
        # No scheduler: the test starts every run itself; prefect.yaml's schedules would start others.
        env = cluster.env(PREFECT_SERVER_DATABASE_CONNECTION_URL=urlunsplit(server_url), PREFECT_UI_ENABLED="false",
                          PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false")
        server = processes.start("server", [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                                            "--port", str(port)], env)
        _wait_healthy(cluster.api, server, processes.logs)
        cluster.prefect("work-pool", "create", "auditcycle", "--type", "process")
        cluster.prefect("deploy", "--all")
        yield cluster
    finally:
        processes.stop_all()
        _drop_database(database)


@pytest.fixture
def workers(cluster: Cluster) -> Iterator[Cluster]:
    """The cluster, its workers (started by the test) killed at the end of the test."""
    try:
        yield cluster
    finally:
        cluster.stop_workers()
