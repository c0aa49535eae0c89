"""The cluster in full (`make cluster`): a month of phases on two workers, equal to one process; a worker
killed mid-run, its run crashed by the heartbeat automation and finished on the other worker, sending
nothing twice; and two runs of one phase taking turns under the deployment's concurrency limit."""
import shutil
import subprocess
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from factories import approve_list_at
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from auditcycle.core import faults
from auditcycle.core.settings import get_settings
from auditcycle.models import OutboxMessage
from auditcycle.models.enums import MessageStatus
from auditcycle.runs.cluster import CRASH_LOST_RUNS, RESTART_CRASHED_RUNS
from auditcycle.runs.phases import get_phase
from auditcycle.storage import db
from auditcycle.storage.db import session_scope
from cluster.checks import (
    ADHOC_PLAN,
    MONTH_PLAN,
    between,
    duplicate_keys,
    figures,
    mail_not_sent_once,
    parameters,
    phase_runs,
)
from cluster.conftest import BIN, HEARTBEAT_SECONDS, ROOT, Cluster

pytestmark = pytest.mark.cluster
LOST_AFTER_SECONDS = 2 * HEARTBEAT_SECONDS


@contextmanager
def in_process(cluster: Cluster):
    """Run flows in this process, their runs recorded on the cluster's server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: cluster.api}):
        yield


def _use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Point this process's settings at another application database."""
    db.get_engine().dispose()
    monkeypatch.setenv("AUDITCYCLE_DATABASE_URL", url)
    get_settings.cache_clear()
    db.engine_for.cache_clear()


def _received(smtp_server) -> list[tuple[str, str]]:
    return [(r.rcpt_tos[0], r.message["Subject"]) for r in smtp_server.received]


# The one-process month runs on a copy of the seeded database, a file copy on SQLite.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_month_on_two_workers_equals_the_month_in_one_process(authority, smtp_env, workers, monkeypatch,
                                                              tmp_path: Path) -> None:
    url = str(authority.url)
    reference = tmp_path / "reference.db"
    authority.dispose()
    shutil.copy(url.removeprefix("sqlite:///"), reference)
    workers.start_worker("worker-a")
    workers.start_worker("worker-b")

    ran: dict[str, tuple[str, str]] = {}

    def run_on_the_cluster(plan: list) -> None:
        for phase, now, extra in plan:
            run_id = workers.run_deployment(f"{phase}/{phase}", **parameters(phase, now, extra))
            run = workers.wait_final(run_id)
            assert run.state.type.value == "COMPLETED", (phase, run.state.message)
            ran[phase] = (run_id, run.labels["prefect.worker.name"])
            between(phase)

    run_on_the_cluster(MONTH_PLAN)
    cluster_figures = figures(authority)
    cluster_mail = _received(smtp_env)
    run_on_the_cluster(ADHOC_PLAN)
    adhoc_figures = figures(authority)
    all_cluster_mail = _received(smtp_env)
    workers.stop_workers()

    _use_database(monkeypatch, f"sqlite:///{reference}")
    with in_process(workers):
        for phase, now, extra in MONTH_PLAN:
            get_phase(phase).load_flow()(**parameters(phase, now, extra))
            between(phase)
    reference_engine = db.get_engine()
    one_process = figures(reference_engine)

    with workers.client() as client:
        for phase, (run_id, worker) in ran.items():
            deployment = client.read_deployment_by_name(f"{phase}/{phase}")
            runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])))
            assert [(str(r.id), r.run_count) for r in runs] == [(run_id, 1)], f"{phase} ran more than once"
    print("\nworkers:", Counter(worker for _, worker in ran.values()), {p: w for p, (_, w) in ran.items()})
    assert {worker for _, worker in ran.values()} <= {"worker-a", "worker-b"}
    assert phase_runs(authority) == [(phase, ran[phase][0], "succeeded") for phase, _, _ in MONTH_PLAN + ADHOC_PLAN
                                     if phase != "deliver"]
    assert all(adhoc_figures["summaries"][phase]["created"] for phase, _, _ in ADHOC_PLAN)
    assert len(all_cluster_mail) == sum(adhoc_figures["messages"].values())
    assert mail_not_sent_once(authority, smtp_env.received[:len(all_cluster_mail)]) == {}
    assert adhoc_figures["audits"] == cluster_figures["audits"] + sum(extra["size"] for _, _, extra in ADHOC_PLAN)
    assert cluster_figures["audits"] > 0 and cluster_figures["meetings"] > 0
    for phase, summary in cluster_figures.pop("summaries").items():
        assert summary == one_process["summaries"].pop(phase), phase
    assert one_process.pop("summaries") == {}
    assert cluster_figures == one_process
    assert len(cluster_mail) == len(set(cluster_mail)) == sum(cluster_figures["messages"].values())
    assert Counter(cluster_mail) == Counter(_received(smtp_env)[len(all_cluster_mail):])
    assert duplicate_keys(authority) == []
    reference_engine.dispose()


def test_a_killed_worker_s_run_is_crashed_and_finished_on_the_other(authority, smtp_env, workers,
                                                                   tmp_path: Path) -> None:
    setup = subprocess.run([str(BIN / "auditcycle"), "cluster-setup", "--lost-after", str(LOST_AFTER_SECONDS)],
                           env=workers.env(PREFECT_FLOWS_HEARTBEAT_FREQUENCY=str(HEARTBEAT_SECONDS)), cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert CRASH_LOST_RUNS in setup.stdout and RESTART_CRASHED_RUNS in setup.stdout
    try:
        with in_process(workers):
            get_phase("sample").load_flow()(**parameters("sample", "2026-11-23T07:00", {"seed": 4}))
        with session_scope() as session:
            approve_list_at(session, "2026-11-23T09:30")
        marker = tmp_path / "held"
        # worker-a stops after the first message is sent, the rest of its batch still claimed, and is killed there.
        workers.start_worker("worker-a", **{faults.POINT_ENV: faults.MID_BATCH, faults.MARKER_ENV: str(marker)})
        run_id = workers.run_deployment("notify/notify", **parameters("notify", "2026-11-23T10:00", {}))
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert time.monotonic() < deadline, f"notify never reached {faults.MID_BATCH}: {workers.log('worker-a')}"
            time.sleep(0.5)
        sent_before_kill = len(smtp_env.received)
        workers.start_worker("worker-b")
        workers.kill_worker("worker-a")
        killed_at = time.monotonic()

        run = workers.wait_final(run_id, timeout=600)
        recovered_in = time.monotonic() - killed_at
    finally:
        with workers.client() as client:
            for name in (CRASH_LOST_RUNS, RESTART_CRASHED_RUNS):
                for automation in client.read_automations_by_name(name):
                    client.delete_automation(automation.id)

    print(f"\nthe killed run finished on the other worker {recovered_in:.0f} s after the kill")
    states = workers.states(run_id)
    assert run.state.type.value == "COMPLETED", (states, workers.log("worker-b"))
    assert "Crashed" in states and states.index("Crashed") < states.index("AwaitingRetry") < len(states) - 1
    assert run.labels["prefect.worker.name"] == "worker-b"
    assert run.run_count == 2
    notify_runs = [r for r in phase_runs(authority) if r[0] == "notify"]
    assert notify_runs == [("notify", run_id, "failed"), ("notify", run_id, "succeeded")]
    with sessionmaker(bind=authority)() as s:
        messages = s.scalar(select(func.count()).select_from(OutboxMessage))
        unsent = s.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.status != MessageStatus.SENT))
    assert sent_before_kill >= 1
    assert len(smtp_env.received) == messages > sent_before_kill
    assert mail_not_sent_once(authority, smtp_env.received) == {}
    assert unsent == 0
    assert duplicate_keys(authority) == []


def test_two_runs_of_one_phase_take_turns_across_workers(authority, smtp_env, workers) -> None:
    workers.start_worker("worker-a")
    workers.start_worker("worker-b")

    ids = [workers.run_deployment("sample/sample", **parameters("sample", "2026-11-23T07:00", {"seed": 4}))
           for _ in range(2)]
    runs = sorted((workers.wait_final(run_id) for run_id in ids), key=lambda r: r.start_time)

    assert [r.state.type.value for r in runs] == ["COMPLETED", "COMPLETED"]
    assert runs[0].end_time <= runs[1].start_time, "the two runs of sample overlapped"
    assert "AwaitingConcurrencySlot" in workers.states(str(runs[1].id))
    assert [status for phase, _, status in phase_runs(authority)] == ["succeeded", "succeeded"]
    print("\nsample ran on", [r.labels["prefect.worker.name"] for r in runs])
