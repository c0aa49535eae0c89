"""`auditcycle cluster-setup` refuses what would crash healthy runs, and says what it needs."""
from datetime import timedelta

from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from typer.testing import CliRunner

from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
from auditcycle.runs.cluster import automations

runner = CliRunner()


def test_setup_without_a_prefect_server_names_the_setting() -> None:
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        result = runner.invoke(app, ["cluster-setup"])

    assert result.exit_code == 1
    assert "PREFECT_API_URL is not set" in result.output


def test_a_window_shorter_than_two_heartbeats_is_refused() -> None:
    # Refused before the server is asked anything: nothing listens on port 9.
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api", PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 30}):
        result = runner.invoke(app, ["cluster-setup", "--lost-after", "45"])

    assert result.exit_code == 1
    assert "lost_after: 45 s is less than two heartbeats (PREFECT_FLOWS_HEARTBEAT_FREQUENCY is 30 s)" in result.output


def test_a_crashed_run_is_restarted_at_most_the_given_times_and_only_from_the_pool() -> None:
    crash, restart = automations(timedelta(seconds=90), restarts=2)

    assert crash.trigger.posture.value == "Proactive" and crash.trigger.within == timedelta(seconds=90)
    assert crash.actions[0].state.value == "CRASHED"
    assert restart.trigger.match.model_dump()["prefect.run-count"] == ["1", "2"]
    assert restart.trigger.match_related.model_dump()["prefect.resource.name"] == "auditcycle"
    assert (restart.actions[0].state.value, restart.actions[0].name) == ("SCHEDULED", "AwaitingRetry")
