"""prefect.yaml declares a deployment for every phase, pointing at real flows, on valid schedules."""
from importlib import import_module
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from prefect import Flow
from prefect.client.schemas.schedules import CronSchedule

from auditcycle.runs.phases import PHASES, Kind

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "prefect.yaml").read_text())
DEPLOYMENTS = {d["name"]: d for d in CONFIG["deployments"]}
# The phases of the monthly cycle run on schedules; ad-hoc cycles (deep dives, dip samples) run on request.
MONTHLY = tuple(name for name, phase in PHASES.items() if phase.cron is not None)
SCHEDULES = [(name, s) for name, d in DEPLOYMENTS.items() for s in d.get("schedules") or []]


def _minutes_past_midnight(cron: str) -> int:
    minute, hour, *_ = cron.split()
    return int(hour.split("-")[0]) * 60 + int(minute)


def test_every_phase_has_a_deployment() -> None:
    missing = [phase for phase in PHASES if phase not in DEPLOYMENTS]

    assert missing == []
    assert len(CONFIG["deployments"]) == len(DEPLOYMENTS)  # no name is declared twice


def test_prefect_yaml_declares_exactly_the_phases_of_the_one_list() -> None:
    declared = {name: (d["entrypoint"], [s["cron"] for s in d.get("schedules") or []])
                for name, d in DEPLOYMENTS.items()}

    expected = {name: (phase.flow, [phase.cron] if phase.cron else []) for name, phase in PHASES.items()}

    assert declared == expected


def test_the_monthly_phases_are_the_ones_the_cli_runs() -> None:
    from auditcycle.cli.runs import Phase as RunChoice

    assert [c.value for c in RunChoice] == [n for n, p in PHASES.items() if p.kind == Kind.MONTHLY]


@pytest.mark.parametrize("name", list(DEPLOYMENTS))
def test_every_entrypoint_imports_the_flow_of_that_name(name: str) -> None:
    path, _, function = DEPLOYMENTS[name]["entrypoint"].partition(":")
    module = import_module("auditcycle." + path.removesuffix(".py").replace("/", "."))

    found = getattr(module, function)

    assert isinstance(found, Flow)
    assert found.name == name
    assert (ROOT / path).is_file()


@pytest.mark.parametrize("name, schedule", SCHEDULES, ids=[f"{n}-{s.get('slug')}" for n, s in SCHEDULES])
def test_every_schedule_is_a_valid_cron_in_london_time(name: str, schedule: dict) -> None:
    parsed = CronSchedule(cron=schedule["cron"], timezone=schedule.get("timezone"))

    assert parsed.timezone == "Europe/London"
    assert ZoneInfo(parsed.timezone)
    assert schedule["slug"]


def test_every_monthly_phase_is_scheduled_and_slugs_are_unique() -> None:
    slugs = [s["slug"] for _, s in SCHEDULES]

    assert set(MONTHLY) <= set(PHASES)
    assert sorted({name for name, _ in SCHEDULES}) == sorted(MONTHLY)
    assert len(slugs) == len(set(slugs))


def test_sample_notify_book_check_every_working_day_in_that_order() -> None:
    # Cron cannot say "the first working day from the Monday of the last full week", nor "once the list is
    # approved": the three fire every weekday and the flows decide (auditcycle.runs.schedule). Notify and book
    # check every working hour, so notices follow an approval within the hour, and book follows notify.
    crons = [DEPLOYMENTS[p]["schedules"][0]["cron"] for p in ("sample", "notify", "book")]

    assert [c.split()[2:] for c in crons] == [["*", "*", "1-5"]] * 3
    assert [c.split()[1] for c in crons] == ["7", "7-16", "7-16"]
    times = [_minutes_past_midnight(c) for c in crons]
    assert times == sorted(times) and len(set(times)) == 3


def test_each_phase_runs_once_at_a_time_across_workers_and_the_sender_has_no_limit() -> None:
    limits = {name: d.get("concurrency_limit") for name, d in DEPLOYMENTS.items()}

    assert limits.pop("deliver") is None  # several senders at once claim different messages
    assert all(limit == {"limit": 1, "collision_strategy": "ENQUEUE"} for limit in limits.values()), limits
