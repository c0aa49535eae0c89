"""The one list of phases: its months, its schedules, its flows, and a new phase registered once."""
import pytest
from factories import context_at
from prefect import Flow
from pydantic import ValidationError

from auditcycle.core.clock import Month
from auditcycle.core.errors import UserError
from auditcycle.core.settings import Settings
from auditcycle.runs.phases import PHASES, Covers, Kind, Phase, check_schedules, get_phase, register, skip_reason


@pytest.mark.parametrize("name, month", [("sample", Month(2027, 1)), ("chase", Month(2026, 12)),
                                         ("moderate", Month(2026, 11)), ("report", Month(2026, 11))])
def test_each_phase_covers_its_month_by_default(name: str, month: Month) -> None:
    assert get_phase(name).default_month(context_at("2026-12-15T09:00")) == month


def test_every_phase_loads_the_flow_of_its_name() -> None:
    flows = {name: phase.load_flow() for name, phase in PHASES.items()}

    assert all(isinstance(f, Flow) for f in flows.values())
    assert {name: f.name for name, f in flows.items()} == {name: name for name in PHASES}


def test_an_unknown_phase_names_the_phases_there_are() -> None:
    with pytest.raises(UserError) as refused:
        get_phase("teleport")

    assert str(refused.value).startswith("unknown phase 'teleport': choose one of sample, notify, book, chase")


def test_a_phase_is_registered_once() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(Phase("chase", Kind.MONTHLY, Covers.CURRENT, "flows/chase.py:chase"))


def test_cron_times_are_read_from_the_schedule() -> None:
    assert get_phase("notify").cron_time() == (7, 30)
    assert get_phase("responses").cron_time() == (0, 5)
    with pytest.raises(ValueError, match="no schedule"):
        get_phase("deep-dive").cron_time()


def test_a_council_sets_its_own_time_for_a_phase() -> None:
    council = Settings(database_url="sqlite://", schedules={"sample": "45 6 * * 1-5"})

    assert get_phase("sample").schedule_for(council) == "45 6 * * 1-5"
    assert get_phase("sample").cron_time(council) == (6, 45)
    assert get_phase("notify").schedule_for(council) == "30 7-16 * * 1-5"
    assert get_phase("notify").cron_time(council) == (7, 30)


def test_a_council_schedule_must_be_a_cron_for_a_scheduled_phase() -> None:
    with pytest.raises(ValidationError, match="is not a cron of five fields"):
        Settings(database_url="sqlite://", schedules={"sample": "daily"})
    with pytest.raises(UserError, match="runs on request only"):
        check_schedules(Settings(database_url="sqlite://", schedules={"deep-dive": "0 9 * * 1"}))
    with pytest.raises(UserError, match="unknown phase 'sampel'"):
        check_schedules(Settings(database_url="sqlite://", schedules={"sampel": "0 9 * * 1"}))


def test_a_phase_without_a_calendar_rule_always_runs_when_scheduled() -> None:
    assert skip_reason("chase", context_at("2026-12-25T08:00")) is None
    assert skip_reason("sample", context_at("2026-12-25T08:00")).startswith("not the sampling day")
