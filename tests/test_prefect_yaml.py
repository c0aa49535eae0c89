"""prefect.yaml declares a deployment, with a schedule, for every phase, pointing at real flows."""
from importlib import import_module
from pathlib import Path

import yaml
from prefect import Flow

from auditcycle.phases import PHASES

ROOT = Path(__file__).parent.parent


def test_every_phase_has_a_scheduled_deployment_with_a_real_flow() -> None:
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in config["deployments"]}

    assert set(deployments) == set(PHASES)
    for name, deployment in deployments.items():
        path, _, function = deployment["entrypoint"].partition(":")
        module = import_module("auditcycle." + path.removesuffix(".py").replace("/", "."))
        assert isinstance(getattr(module, function), Flow), name
        assert getattr(module, function).name == name
        assert all(s["timezone"] == "Europe/London" and s["cron"] for s in deployment["schedules"])
