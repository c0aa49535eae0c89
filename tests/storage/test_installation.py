"""Time is the real time, except in a simulation; every act has a person."""
from datetime import timedelta

import factories as make
import pytest
from conftest import QA_MANAGER
from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from auditcycle.cli import app
from auditcycle.cli import commands as _commands  # noqa: F401  (registers the commands)
from auditcycle.core.errors import UserError
from auditcycle.models import Installation, Nomination, TrailEntry
from auditcycle.models.enums import Role
from auditcycle.storage.installation import mark_simulation

runner = CliRunner()


def _real_database(engine) -> None:
    """Make the test database a council's real one: no installation row."""
    with sessionmaker(bind=engine).begin() as session:
        session.execute(delete(Installation))


def _nominate(child_id: str, manager: str, *extra: str):
    return runner.invoke(app, ["nominate", child_id, "--by", manager, "--month", "2027-01",
                               "--reason", "Clear, child-centred planning", *extra])


def _manager_and_child(engine) -> tuple[str, str]:
    with sessionmaker(bind=engine).begin() as session:
        team = make.team(session, "North")
        manager = make.staff(session, "SM1", Role.SERVICE_MANAGER, in_service=team.service)
        child = make.child(session, "C1", in_team=team, key_worker=make.staff(session, "KW1", in_team=team))
        return manager.id, child.id


def test_now_is_refused_on_a_real_database_and_nothing_is_recorded(engine, app_env, monkeypatch) -> None:
    _real_database(engine)
    monkeypatch.delenv("AUDITCYCLE_SIMULATION")
    manager, child = _manager_and_child(engine)

    backdated = _nominate(child, manager, "--now", "2026-12-01T09:00")

    assert backdated.exit_code == 1
    assert "--now is for a demo or a rehearsal only" in backdated.output
    with sessionmaker(bind=engine)() as session:
        assert session.scalars(select(Nomination)).all() == []


def test_the_real_time_is_accepted_on_a_real_database(engine, app_env, monkeypatch) -> None:
    _real_database(engine)
    monkeypatch.delenv("AUDITCYCLE_SIMULATION")
    manager, child = _manager_and_child(engine)

    now = _nominate(child, manager)

    assert now.exit_code == 0, now.output


def test_the_simulation_switch_is_refused_on_a_real_database(engine, app_env) -> None:
    _real_database(engine)
    manager, child = _manager_and_child(engine)

    switched = _nominate(child, manager)

    assert switched.exit_code == 1
    assert "AUDITCYCLE_SIMULATION is set, but this database is a council's real record" in switched.output


def test_a_database_holding_staff_cannot_be_made_a_simulation(session) -> None:
    session.execute(delete(Installation))
    make.staff(session, "S1")

    with pytest.raises(UserError, match="already holds staff and was not created as a simulation"):
        mark_simulation(session)


def test_in_a_simulation_a_decision_cannot_be_dated_before_its_record(session) -> None:
    ctx = make.context_at("2026-12-01T09:00")

    with pytest.raises(UserError, match="is before A-1 was raised"):
        ctx.refuse_before(ctx.now + timedelta(minutes=1), "A-1 was raised")
    ctx.refuse_before(ctx.now, "A-1 was raised")  # at the same moment is allowed


def test_a_cli_decision_records_the_account_and_host_beside_the_staff_id(engine, app_env) -> None:
    manager, child = _manager_and_child(engine)

    assert _nominate(child, manager, "--now", "2026-12-01T09:00").exit_code == 0

    with sessionmaker(bind=engine)() as session:
        entry = session.scalars(select(TrailEntry).where(TrailEntry.entity == "nomination")).one()
    assert entry.actor == manager
    assert entry.os_account and entry.host


def test_only_the_listed_accounts_may_act_for_staff_on_the_cli(engine, app_env, monkeypatch) -> None:
    manager, child = _manager_and_child(engine)
    monkeypatch.setenv("AUDITCYCLE_CLI_OPERATORS", '["someone-else"]')

    refused = _nominate(child, manager, "--now", "2026-12-01T09:00")

    assert refused.exit_code == 1 and "may not act for a member of staff on the command line" in refused.output


def test_a_phase_run_by_hand_needs_a_person(authority, app_env, prefect_harness) -> None:
    from auditcycle.flows.chase import chase

    with pytest.raises(UserError, match="a chase run started by hand needs a person"):
        chase(month="2026-12", now="2026-12-01T08:00")

    assert chase(month="2026-12", now="2026-12-01T08:00", by=QA_MANAGER)["delivery"] is not None


def test_run_and_retention_refuse_to_start_without_by(app_env) -> None:
    for args in (["run", "chase", "--month", "2026-12"], ["retention"]):
        result = runner.invoke(app, args)

        assert result.exit_code == 2 and "--by" in result.output



def _deployed_runs(flow, parameters: dict) -> tuple:
    """Deploy a flow on a daily schedule; return a run Prefect's scheduler made from it and one made by hand.

    The deployment's name is new each time: the Prefect server outlives a test, and runs of an earlier
    test's deployment of the same name would be listed with this one's.
    """
    import uuid
    from datetime import datetime, timezone

    from prefect import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.states import Scheduled

    with get_client(sync_client=True) as client:
        deployment_id = client.create_deployment(
            flow_id=client.create_flow(flow), name=f"scheduled-{flow.name}-{uuid.uuid4().hex[:8]}", parameters=parameters,
            schedules=[DeploymentScheduleCreate(schedule=CronSchedule(cron="0 8 * * *", timezone="Europe/London"),
                                                active=True)])
        # What Prefect's scheduler service does each minute: make the deployment's next runs.
        start = datetime.now(timezone.utc).isoformat()
        client.request("POST", f"/deployments/{deployment_id}/schedule", json={"start_time": start, "max_runs": 1})
        [scheduled] = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))
        # Due now rather than at tomorrow's 08:00, so the engine does not wait for it.
        client.set_flow_run_state(scheduled.id, Scheduled(scheduled_time=datetime.now(timezone.utc)), force=True)
        by_hand = client.create_flow_run_from_deployment(deployment_id, parameters=parameters)
    return scheduled, by_hand


def test_only_a_run_prefect_made_from_a_schedule_is_credited_to_the_scheduler(authority, app_env,
                                                                              prefect_harness) -> None:
    from prefect.flow_engine import run_flow

    from auditcycle.flows.sample import sample

    scheduled, by_hand = _deployed_runs(sample, {"month": "2026-12", "now": "2026-11-23T07:00"})
    assert scheduled.auto_scheduled and not by_hand.auto_scheduled

    with pytest.raises(UserError, match="a sample run started by hand needs a person"):
        run_flow(sample, flow_run=by_hand, parameters=by_hand.parameters)
    run_flow(sample, flow_run=scheduled, parameters=scheduled.parameters)

    with sessionmaker(bind=authority)() as s:
        actors = set(s.scalars(select(TrailEntry.actor).where(TrailEntry.entity == "audit")))
    assert actors == {"scheduler:sample"}
