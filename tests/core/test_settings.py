"""Settings come from the environment over an optional TOML file, with the framework's defaults."""
from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from auditcycle.core.settings import Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ["AUDITCYCLE_CONFIG", "AUDITCYCLE_DATABASE_URL", "AUDITCYCLE_SMTP_HOST", "AUDITCYCLE_TIMEZONE"]:
        monkeypatch.delenv(name, raising=False)


def test_defaults_follow_the_framework() -> None:
    s = Settings()
    f = s.framework
    assert s.database_url == "sqlite:///auditcycle.db"
    assert s.timezone == "Europe/London"
    assert s.outbox_dir == Path("outbox") and s.reports_dir == Path("reports")
    assert list(f.domains) == [
        "help_protection_stability", "recording_communication", "assessment",
        "relationship_direct_work", "multi_agency_planning", "supervision_oversight",
        "safeguarding_review_unit", "impact_outcomes",
    ]
    assert f.grades == {
        "outstanding": "Outstanding", "good": "Good",
        "requires_improvement": "Requires improvement to be good", "inadequate": "Inadequate",
    }
    assert (f.audit_lookback_months, f.reaudit_exclusion_months) == (6, 6)
    assert (f.action_max_days, f.immediate_response_hours, f.supervision_gap_months) == (31, 24, 6)
    assert f.moderation_share == pytest.approx(1 / 3)
    assert (f.learning_conversation_minutes, f.family_call_minutes) == (60, 30)
    assert (f.working_day_start, f.working_day_end) == (time(9), time(17))
    assert f.working_weekdays == [0, 1, 2, 3, 4]
    assert f.good_or_better == ["outstanding", "good"]
    assert f.moderation_chase_working_days == [3, 5, 8]


def test_toml_in_working_directory_changes_the_framework(tmp_path: Path) -> None:
    (tmp_path / "auditcycle.toml").write_text(
        'database_url = "sqlite:///council.db"\n'
        "[framework]\nreaudit_exclusion_months = 9\naction_max_days = 28\n"
        'working_day_end = "16:30"\n'
    )
    s = Settings()
    assert s.database_url == "sqlite:///council.db"
    assert s.framework.reaudit_exclusion_months == 9
    assert s.framework.audit_lookback_months == 6  # a separate setting, untouched
    assert s.framework.action_max_days == 28
    assert s.framework.working_day_end == time(16, 30)


def test_environment_overrides_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('smtp_host = "toml.example"\nsmtp_port = 2525\n')
    monkeypatch.setenv("AUDITCYCLE_CONFIG", str(config))
    monkeypatch.setenv("AUDITCYCLE_SMTP_HOST", "env.example")
    monkeypatch.setenv("AUDITCYCLE_FRAMEWORK__MODERATION_SHARE", "0.5")
    s = Settings()
    assert (s.smtp_host, s.smtp_port) == ("env.example", 2525)
    assert s.framework.moderation_share == 0.5


def test_config_path_that_does_not_exist_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITCYCLE_CONFIG", "/nowhere/auditcycle.toml")
    from auditcycle.core.settings import ConfigError

    with pytest.raises(ConfigError, match="/nowhere/auditcycle.toml"):
        Settings()


@pytest.mark.parametrize(
    ("toml", "field"),
    [
        ('smtp_security = "tls13"\n', "smtp_security"),
        ('timezone = "Mars/Olympus"\n', "timezone"),
        ("[framework]\nworking_weekdays = [7]\n", "working_weekdays"),
        ('[framework]\nworking_day_start = "18:00"\n', "framework"),
        ("unknown_setting = 1\n", "unknown_setting"),
        ("lease_wait_seconds = -1\n", "lease_wait_seconds"),
        ("sqlite_busy_seconds = 0\n", "sqlite_busy_seconds"),
        ("[framework]\nmoderation_chase_working_days = [5, 3, 8]\n", "moderation_chase_working_days"),
        ("[framework]\nmoderation_chase_working_days = [3, 5]\n", "moderation_chase_working_days"),
    ],
)
def test_bad_toml_names_the_field(tmp_path: Path, toml: str, field: str) -> None:
    (tmp_path / "auditcycle.toml").write_text(toml)
    with pytest.raises(ValidationError) as info:
        Settings()
    assert field in str(info.value)


def test_lease_and_lock_waits_come_from_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lease's lifetime and wait, and SQLite's lock wait, are read from TOML, with the environment winning."""
    from datetime import timedelta

    from auditcycle.core.settings import get_settings
    from auditcycle.runs.leases import lease_ttl, lease_wait
    from auditcycle.storage.db import sqlite_busy_seconds

    for name in ["AUDITCYCLE_LEASE_TTL_MINUTES", "AUDITCYCLE_LEASE_WAIT_SECONDS", "AUDITCYCLE_SQLITE_BUSY_SECONDS"]:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "auditcycle.toml").write_text("lease_ttl_minutes = 45\nlease_wait_seconds = 90\nsqlite_busy_seconds = 5\n")
    monkeypatch.setenv("AUDITCYCLE_LEASE_WAIT_SECONDS", "12")
    get_settings.cache_clear()
    try:
        assert (lease_ttl(), lease_wait(), sqlite_busy_seconds()) == (timedelta(minutes=45), 12.0, 5.0)
    finally:
        get_settings.cache_clear()


def test_example_domains_are_placeholders_and_real_ones_are_not() -> None:
    from auditcycle.core.settings import is_example_domain

    examples = ["example.org", "intranet.example.com", "council.example", "mail.test", "EXAMPLE.NET."]
    real = ["haringey.gov.uk", "example.org.uk", "myexample.org", "localhost", ""]

    assert [is_example_domain(h) for h in examples + real] == [True] * len(examples) + [False] * len(real)
