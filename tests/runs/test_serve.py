"""`auditcycle serve`: deployments built from prefect.yaml, and a served run that never overlaps a CLI run."""
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import factories as make
import pytest
import yaml
from conftest import QA_MANAGER
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from waiting import wait_for

from auditcycle.core.clock import wall_clock
from auditcycle.core.errors import UserError
from auditcycle.core.settings import get_settings
from auditcycle.flows.chase import chase
from auditcycle.models import PhaseRun
from auditcycle.models.enums import PhaseRunStatus, Role
from auditcycle.runs.leases import acquire, current, release
from auditcycle.runs.serving import build_deployments, describe, find_config, resolve_flow

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "prefect.yaml"
AUDITCYCLE = str(Path(sys.executable).parent / "auditcycle")


def _yaml_deployments() -> dict[str, dict]:
    return {d["name"]: d for d in yaml.safe_load(CONFIG.read_text())["deployments"]}


def test_build_deployments_match_prefect_yaml() -> None:
    expected = _yaml_deployments()

    built = {d.name: d for d in build_deployments(CONFIG)}

    assert list(built) == list(expected)
    for name, deployment in built.items():
        entry = expected[name]
        assert deployment.flow_name == name
        assert deployment.description == entry.get("description")
        assert deployment.parameters == (entry.get("parameters") or {})
        assert deployment.work_pool_name is None  # served: no worker needed
        limit = entry.get("concurrency_limit") or {}
        assert (deployment.concurrency_limit, deployment.concurrency_options and
                deployment.concurrency_options.collision_strategy.value) == (limit.get("limit"),
                                                                             limit.get("collision_strategy")), name
        schedules = [(s.schedule.cron, s.schedule.timezone, s.slug, s.active) for s in deployment.schedules]
        assert schedules == [(s["cron"], s["timezone"], s["slug"], s.get("active", True))
                             for s in entry.get("schedules") or []], name


def test_build_deployments_only_the_named_ones() -> None:
    built = build_deployments(CONFIG, ["chase", "report"])

    assert [d.name for d in built] == ["chase", "report"]
    assert describe(built[0]) == "chase/chase: 0 8 * * 1-5 (Europe/London)"


def test_a_council_schedule_replaces_the_declared_time_when_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITCYCLE_SCHEDULES__SAMPLE", "45 6 * * 1-5")
    get_settings.cache_clear()
    try:
        built = build_deployments(CONFIG, ["sample", "notify"])
    finally:
        monkeypatch.delenv("AUDITCYCLE_SCHEDULES__SAMPLE")
        get_settings.cache_clear()

    assert [describe(d) for d in built] == ["sample/sample: 45 6 * * 1-5 (Europe/London)",
                                            "notify/notify: 30 7-16 * * 1-5 (Europe/London)"]
    assert built[0].schedules[0].slug == "sample-daily-check"


def test_a_bad_concurrency_limit_is_refused_naming_the_deployment(tmp_path: Path) -> None:
    config = tmp_path / "prefect.yaml"
    entry = {**_yaml_deployments()["chase"], "concurrency_limit": {"limit": 1, "collision_strategy": "QUEUE"}}
    config.write_text(yaml.safe_dump({"deployments": [entry]}))

    with pytest.raises(UserError, match="deployment 'chase': concurrency_limit must be .*collision_strategy"):
        build_deployments(config)


def test_build_deployments_unknown_name_is_refused() -> None:
    with pytest.raises(UserError, match="no deployment named chsae in"):
        build_deployments(CONFIG, ["chsae"])


def test_resolve_flow_path_and_module_entrypoints_give_the_packaged_flow() -> None:
    assert resolve_flow("flows/chase.py:chase", ROOT) is chase
    assert resolve_flow("./flows/chase.py:chase".removeprefix("./"), Path("/nowhere")) is chase
    assert resolve_flow("auditcycle.flows.chase:chase", Path("/nowhere")) is chase


def test_resolve_flow_loads_a_flow_file_outside_the_package(tmp_path: Path) -> None:
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "hello.py").write_text(
        "from prefect import flow\n\n@flow(name='hello')\ndef hello() -> str:\n    return 'hi'\n")

    loaded = resolve_flow("extra/hello.py:hello", tmp_path)

    assert loaded.name == "hello"


@pytest.mark.parametrize("entrypoint, message", [
    ("flows/chase.py", "write it as path/to/file.py:function"),
    ("flows/chase.py:nope", "cannot load auditcycle.flows.chase.nope"),
    ("flows/common.py:phase", "names function, not a Prefect flow"),
    ("elsewhere/missing.py:x", "no file"),
])
def test_resolve_flow_bad_entrypoint_says_what_is_wrong(entrypoint: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        resolve_flow(entrypoint, ROOT)


def test_find_config_prefers_the_given_file_then_the_current_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUDITCYCLE_HOME", raising=False)
    (tmp_path / "prefect.yaml").write_text("deployments: []\n")

    assert find_config(CONFIG) == CONFIG
    assert find_config() == tmp_path / "prefect.yaml"
    with pytest.raises(UserError, match="no such file"):
        find_config(tmp_path / "missing.yaml")


def _running_chase_runs(client) -> list:
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    return client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=["chase"])),
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
            any_=[StateType.RUNNING]))))


def test_served_run_and_cli_run_of_a_phase_never_overlap(app_env: str, prefect_harness: str,
                                                         tmp_path: Path) -> None:
    import prefect.settings
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    from auditcycle.storage.db import get_engine

    with sessionmaker(bind=get_engine()).begin() as session:
        make.staff(session, QA_MANAGER, Role.QA_MANAGER)  # who starts both runs by hand
    env = {**os.environ, "PREFECT_API_URL": prefect.settings.PREFECT_API_URL.value(),
           "PREFECT_RUNNER_POLL_FREQUENCY": "1", "AUDITCYCLE_LEASE_WAIT_SECONDS": "120"}
    logs = tmp_path / "serve.log"
    # Hold the phase first, so the served run and the CLI run are both waiting when it comes free
    # and really contend for it, rather than happening to run one after the other.
    acquire("chase", "test-blocker", timedelta(minutes=5))
    with logs.open("w") as out:
        server = subprocess.Popen([AUDITCYCLE, "serve", "chase", "--config", str(CONFIG)], env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
    cli = None
    try:
        with get_client(sync_client=True) as client:
            wait_for("the served deployment", lambda: _deployment_ready(client), 120, logs)
            served = run_deployment("chase/chase", parameters={"month": "2026-12", "now": "2026-12-01T08:00", "by": QA_MANAGER},
                                    timeout=0)
            with (tmp_path / "cli.log").open("w") as out:
                cli = subprocess.Popen([AUDITCYCLE, "run", "chase", "--by", QA_MANAGER, "--month", "2026-12",
                                        "--now", "2026-12-01T08:05"], env=env, stdout=out, stderr=subprocess.STDOUT)
            wait_for("both runs to be waiting", lambda: len(_running_chase_runs(client)) == 2, 120, logs)
            time.sleep(1.5)
            with sessionmaker(bind=get_engine())() as s:
                assert list(s.scalars(select(PhaseRun))) == []  # neither started its work under the blocker
            released_at = wall_clock()
            release("chase", "test-blocker")

            assert cli.wait(timeout=120) == 0, (tmp_path / "cli.log").read_text()
            final = wait_for("the served run to finish",
                              lambda: (r := client.read_flow_run(served.id)).state.is_final() and r, 120, logs)
            assert final.state.is_completed(), final.state
    finally:
        if cli is not None and cli.poll() is None:
            cli.kill()
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("chase/chase")

    with sessionmaker(bind=get_engine())() as s:
        runs = sorted(s.scalars(select(PhaseRun).where(PhaseRun.month == "2026-12")), key=lambda r: r.started_at)
    assert [(r.phase, r.status) for r in runs] == [("chase", PhaseRunStatus.SUCCEEDED)] * 2
    assert str(served.id) in {r.flow_run_id for r in runs}
    assert len({r.flow_run_id for r in runs}) == 2
    first, second = runs
    assert released_at <= first.started_at < first.finished_at <= second.started_at < second.finished_at
    assert current("chase") is None
    assert "chase/chase: 0 8 * * 1-5 (Europe/London)" in logs.read_text()
    assert not deployment.paused  # serve ran with pause_on_shutdown=False


def _deployment_ready(client) -> bool:
    from prefect.exceptions import ObjectNotFound

    try:
        client.read_deployment_by_name("chase/chase")
    except ObjectNotFound:
        return False
    return True


def test_served_deep_dive_triggered_with_a_stored_request_creates_its_audits(authority, app_env: str,
                                                                             prefect_harness: str,
                                                                             tmp_path: Path) -> None:
    """Store a deep dive request, serve the deployment, trigger it with the request's reference, check the audits."""
    import prefect.settings
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    from auditcycle.core.context import build_context
    from auditcycle.models import Audit, AuditCycle, Staff
    from auditcycle.models.enums import AuditKind, Cohort, CycleKind, Role
    from auditcycle.sampling.requests import Asked, store_request

    with sessionmaker(bind=authority).begin() as s:
        qa = s.scalars(select(Staff.id).where(Staff.role == Role.QA_MANAGER)).first()
        request = store_request(s, build_context("2026-11-23T09:00"), by=qa, asked=Asked(
            kind=CycleKind.DEEP_DIVE, theme="Neglect in adolescence", cohort=Cohort.CHILD_PROTECTION, size=3,
            due=date(2026, 12, 4), reason="Rapid review learning"))
    env = {**os.environ, "PREFECT_API_URL": prefect.settings.PREFECT_API_URL.value(),
           "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    logs = tmp_path / "serve.log"
    with logs.open("w") as out:
        server = subprocess.Popen([AUDITCYCLE, "serve", "deep-dive", "--config", str(CONFIG)], env=env,
                                  stdout=out, stderr=subprocess.STDOUT)

    def ready(client) -> bool:
        try:
            client.read_deployment_by_name("deep-dive/deep-dive")
        except ObjectNotFound:
            return False
        return True

    try:
        with get_client(sync_client=True) as client:
            wait_for("the served deep-dive deployment", lambda: ready(client), 120, logs)
            parameters = {"request": request}
            run = run_deployment("deep-dive/deep-dive", parameters=parameters, timeout=0)
            final = wait_for("the deep dive to finish",
                              lambda: (r := client.read_flow_run(run.id)).state.is_final() and r, 180, logs)
            assert final.state.is_completed(), final.state
            assert final.parameters == parameters
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    with sessionmaker(bind=authority)() as s:
        cycle = s.scalar(select(AuditCycle).where(AuditCycle.kind == CycleKind.DEEP_DIVE))
        audits = list(s.scalars(select(Audit).where(Audit.cycle_id == cycle.id)))
        cohorts = {a.child.cohort.value for a in audits}
    assert cycle.theme == "Neglect in adolescence" and cycle.reason == "Rapid review learning"
    assert len(audits) == 3 and {a.kind for a in audits} == {AuditKind.DEEP_DIVE}
    assert cohorts == {"child_protection"}
    assert {a.due_date.isoformat() for a in audits} == {"2026-12-04"}
