"""The cluster in brief (in `make test`): a Prefect server on PostgreSQL, prefect.yaml deployed, one process
worker, and one phase's deployment run with a person and a clock, completed by the worker."""
import pytest
from conftest import QA_MANAGER
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from auditcycle.models import Audit
from cluster.checks import MONTH, phase_runs


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_worker_runs_a_deployed_phase(authority, smtp_env, workers) -> None:
    workers.start_worker("worker-a")

    run_id = workers.run_deployment("sample/sample", by=QA_MANAGER, month=MONTH, now="2026-11-23T07:00", seed=4)
    run = workers.wait_final(run_id)

    assert run.state.type.value == "COMPLETED", workers.log("worker-a")
    assert run.labels["prefect.worker.name"] == "worker-a"
    assert run.parameters["by"] == QA_MANAGER
    with sessionmaker(bind=authority)() as s:
        assert s.scalar(select(func.count()).select_from(Audit)) > 0
    assert phase_runs(authority) == [("sample", run_id, "succeeded")]
